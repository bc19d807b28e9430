"""The Lambda entry points, one stable path each: ``stream.handler``, ``replay.handler``, ``failure_queue.handler``."""
