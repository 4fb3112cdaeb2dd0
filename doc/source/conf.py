"""Sphinx configuration of cinder-vmware-ext's documentation.

The pages are the Markdown files in doc/ (and the README), read through
MyST from doc/source/, which includes them: they stay where GitHub and
the repository's links expect them.
"""

project = 'cinder-vmware-ext'
copyright = 'cinder-vmware-ext developers'
extensions = ['myst_parser']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
# The included pages link to each other and to files of the repository.
myst_heading_anchors = 3
suppress_warnings = ['myst.xref_missing']
