"""The vSphere edge: every call to vCenter goes through this package."""
