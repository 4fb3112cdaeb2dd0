"""Names of the virtual machines in vCenter, in one paged retrieval."""

from oslo_vmware import vim_util


def names(session):
    """Every VirtualMachine's name (backings are named after volumes)."""
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'VirtualMachine', 1000, ['name'])
    found = set()
    with vim_util.WithRetrieval(session.vim, result) as objects:
        for obj in objects:
            for prop in getattr(obj, 'propSet', None) or []:
                found.add(prop.val)
    return found
