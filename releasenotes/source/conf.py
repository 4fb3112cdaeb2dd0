"""Sphinx configuration of cinder-vmware-ext's release notes (reno)."""

project = 'cinder-vmware-ext Release Notes'
copyright = 'cinder-vmware-ext developers'
extensions = ['reno.sphinxext']
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
