"""The engines behind :func:`particles.simulate` and :func:`particles.simulate_owl`.

Each produces the event log (merge times, cluster ranges, positions) that
:class:`particles.Trajectory` is built from; :mod:`particles.simulation`
validates, sorts, scales and picks one.

    numba_events   event-driven simulation with a heap of collisions (Numba, CPU)
    heap           the indexed 4-ary heap both Numba event loops use
    time_split     every gap's closing time by divide and conquer over time (torch)
    torch_events   parallel event rounds, the physics step by step (torch)
    owl_events     the OWL family's event loop, with the wall at 0 (Numba)
"""
