"""Operator commands: the ``cinder-vmware`` cliff application."""
