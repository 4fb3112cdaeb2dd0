"""Cinder volume driver plugin for VMware vCenter (VMDK backings)."""
