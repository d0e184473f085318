{%- set base = ('Fast' if cookiecutter.http_client == 'FastHttpUser' else '') ~ 'HttpTidewaysUser' %}
{%- set wait = cookiecutter.wait_time | wait_time %}
{%- if cookiecutter.api_description -%}
"""Users for the load test, one task per operation of the API description (README: API users).

The requests are generated into ``generated/api_users.py`` by ``python -m api_import``,
which rewrites only that file; weights and logins belong here. Every request made
through ``self.client`` may trigger a Tideways trace (the ``tideways_locust``
package); ``thresholds.py`` passes or fails the run. Settings live in
``locust.conf``, the API key in ``.env``.
"""

from pathlib import Path

from dotenv import load_dotenv
from locust import between

import thresholds  # noqa: F401 - adds the pass/fail limits (--max-fail-percent, ...)
from api_import import api_tasks
from generated import api_users
from tideways_locust import {{ base }}, LoadProfile  # noqa: F401 - LoadProfile runs --load-profile

# Variables already set in the environment win over .env.
load_dotenv(Path(__file__).with_name(".env"), override=False)


class {{ cookiecutter.project_slug | class_name }}User({{ base }}):
    wait_time = between({{ '%g' % wait[0] }}, {{ '%g' % wait[1] }})
    # Every operation weighs 1: weights={"operationId": 5} weighs one more, 0 leaves it out.
    # authenticated adds the operations that need a login (app-login in locust.conf, README: Logins),
    # deprecated=True the deprecated ones.
    tasks = api_tasks(api_users, weights={}, authenticated={{ cookiecutter.login != "none" }})
{%- else -%}
"""Users for the load test, one task per endpoint answered when the project was baked.

Every request made through ``self.client`` may trigger a Tideways trace (the
``tideways_locust`` package); ``thresholds.py`` passes or fails the run. Add users
or tasks here; ``locust`` run in this folder finds them. Settings live in
``locust.conf``, the API key in ``.env``.
"""

import random
import re
from pathlib import Path

from dotenv import load_dotenv
from locust import between, task

import thresholds  # noqa: F401 - adds the pass/fail limits (--max-fail-percent, ...)
from tideways_locust import {{ base }}, LoadProfile  # noqa: F401 - LoadProfile runs --load-profile

# Variables already set in the environment win over .env.
load_dotenv(Path(__file__).with_name(".env"), override=False)

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def sample_value(placeholder: str) -> str:
    """A value for ``{placeholder}`` in a path: change it to match your test data."""
    return str(random.randint(1, 100))


def fill(path: str) -> str:
    """``/products/{id}`` -> ``/products/42``; statistics keep the unfilled path as the name."""
    return PLACEHOLDER.sub(lambda match: sample_value(match[1]), path)


class {{ cookiecutter.project_slug | class_name }}User({{ base }}):
    wait_time = between({{ '%g' % wait[0] }}, {{ '%g' % wait[1] }})
{%- for endpoint in cookiecutter.endpoints | endpoints %}

    @task({{ endpoint.weight }})
    def {{ endpoint.task_name }}(self):
{%- if endpoint.has_placeholders %}
        path = {{ endpoint.path | pyrepr }}
        self.client.{{ endpoint.client_method }}(fill(path), name=path)
{%- else %}
        self.client.{{ endpoint.client_method }}({{ endpoint.path | pyrepr }})
{%- endif %}
{%- endfor %}
{%- endif %}
