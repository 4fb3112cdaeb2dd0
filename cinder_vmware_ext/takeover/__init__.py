"""Takeover: bring existing vSphere disks under Cinder and give them back.

Pure planning (``references``, ``safety``, ``export_format``, ``plan``) and
the vCenter edge (``discovery``, ``manage``, ``snapshots``).
"""
