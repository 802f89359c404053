"""A demo PBX: a simulated contact center behind an Asterisk 16 AMI server and queue_log.

With no PBX configured, the service starts one so that a new machine shows Callboard at work;
benchmarks use it as a load generator. The collector reaches it exactly as a real Asterisk.
"""

from demo.config import AgentConfig, DemoSettings, Duration, PauseReason, QueueConfig
from demo.pbx import DemoPbx

__all__ = ["AgentConfig", "DemoPbx", "DemoSettings", "Duration", "PauseReason", "QueueConfig"]
