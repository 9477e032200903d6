"""`textgen serve`: the playground page and the HTTP APIs (see `textgen.serve.app`)."""
