"""Users from the API the team already describes: an OpenAPI 3.0/3.1 or Swagger 2.0 document, or a HAR recording.

``python -m api_import [SOURCE]`` (re)writes ``generated/api_users.py``, the requests
only; ``locustfile.py`` turns them into tasks with :func:`api_tasks`, and is never
rewritten. Reading a description needs the standard library and PyYAML only (what
cookiecutter has), so the template bakes with the same code.

- ``documents``: reading a file or URL, JSON or YAML, and its kind;
- ``refs``: ``$ref`` within the document;
- ``samples``: values a schema allows;
- ``openapi``: the operations of an OpenAPI or Swagger document;
- ``har``: the flow of a HAR recording;
- ``generate``: the generated module and the document's copy;
- ``tasks``: Locust tasks from the generated module.
"""

from .problems import DescriptionError
from .tasks import api_tasks

__all__ = ["DescriptionError", "api_tasks"]
