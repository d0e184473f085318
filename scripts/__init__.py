"""Helpers of the template repository: the demo and the virtualenv for baked projects."""
