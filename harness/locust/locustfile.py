"""The locustfile ``harness locust`` runs (``locust -f harness/locust/locustfile.py``).

Run one kind of user by naming it: ``DroneWithIde`` (the default of ``harness locust``),
``ChurningIde`` or ``CrashingDrone``; a team's own locustfile imports them the same way.
"""

from harness.locust.users import ChurningIde, CrashingDrone, DroneWithIde

__all__ = ["ChurningIde", "CrashingDrone", "DroneWithIde"]
