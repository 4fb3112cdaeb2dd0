"""Cinder volume driver plugin for VMware vCenter (VMDK backings)."""

import pbr.version

# The installed distribution's version, as pbr computed it from git tags
# (e.g. 0.0.1.dev42 between releases, release_string: with the dev
# part); cinder-vmware --version prints it.
__version__ = pbr.version.VersionInfo('cinder-vmware-ext').release_string()
