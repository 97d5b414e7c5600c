"""Front-ends: everything that produces a :class:`~hwgen.graph.Graph`."""
