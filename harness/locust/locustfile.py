"""The locustfile ``harness locust`` runs (``locust -f harness/locust/locustfile.py``).

Run one kind of user by naming it: ``DroneWithIde`` (the default of ``harness locust``),
``ChurningIde``, ``CrashingDrone`` or ``WatchingIde``; a team's own locustfile imports
them the same way.
"""

from harness.locust.users import ChurningIde, CrashingDrone, DroneWithIde, WatchingIde

__all__ = ["ChurningIde", "CrashingDrone", "DroneWithIde", "WatchingIde"]
