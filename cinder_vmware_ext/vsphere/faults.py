# Copyright (c) 2026 cinder-vmware-ext developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
"""vCenter's faults: judged by class (``oslo_vmware.exceptions``), and
told in a line that names the step that failed."""

from oslo_log import log as logging
from oslo_vmware import exceptions as vexc

LOG = logging.getLogger(__name__)

_FAULT_NAMES = {cls: name for name, cls in
                vexc._fault_classes_registry.items()}


def is_fault(err, *names):
    """Tell whether an error is one of the named vCenter faults.

    True when ``err`` is one of vCenter's faults ``names`` (vim25 type
    names): its oslo.vmware class (``get_fault_class``), or a
    VimFaultException listing the type.  Never judged by the message
    text.
    """
    classes = tuple(c for c in map(vexc.get_fault_class, names) if c)
    if classes and isinstance(err, classes):
        return True
    return any(n in (getattr(err, 'fault_list', None) or []) for n in names)


def describe(err):
    """Describe vCenter's fault in a line.

    vCenter's fault in a line: its type name and its message (when
    that says more than the type name).
    """
    names = (list(getattr(err, 'fault_list', None) or []) or
             [_FAULT_NAMES.get(err.__class__, err.__class__.__name__)])
    text = str(getattr(err, 'msg', None) or '').strip()
    # Some vCenters (and govmomi) send only the fault's type, e.g.
    # "*types.InvalidDeviceSpec", or nothing (oslo.vmware's class default
    # then): nothing beyond the name.
    if (not text or text == str(getattr(err, 'msg_fmt', '')) or
            text.lstrip('*').split('.')[-1] in names):
        return ', '.join(names)
    return '%s: %s' % (', '.join(names), text)


def with_context(err, step):
    """``err`` again, of its own class, with a message naming the step.

    The class stays (callers, upstream's among them, catch by class);
    only the message says what was being done and what vCenter said,
    instead of a bare fault type.
    """
    message = '%s failed: vCenter fault %s' % (step, describe(err))
    try:
        if isinstance(err, vexc.VimFaultException):
            return err.__class__(err.fault_list, message, cause=err.cause,
                                 details=err.details)
        if isinstance(err, vexc.VimException):
            return err.__class__(message, cause=err.cause,
                                 details=err.details)
        if isinstance(err, (vexc.VimConnectionException,
                            vexc.VimSessionOverLoadException)):
            return err.__class__(message, cause=err.cause)
    except (TypeError, ValueError):
        pass
    return err


def unless_applied(call, applied, step):
    """Run ``call()``; after an error, let a fresh read of vCenter decide.

    After a lost answer, oslo.vmware's retry may be refused (DuplicateName,
    InvalidState, ...) although vCenter applied the first call.
    ``applied()`` reads vCenter again: None or False means not applied and
    the call's error stands (as it does when the read fails); any other
    value is returned in place of the call's result.
    """
    try:
        return call()
    except Exception as err:
        try:
            found = applied()
        except Exception:  # noqa: unknown: the first error stands
            found = None
        if found is None or found is False:
            raise
        LOG.warning('%(step)s answered %(err)s, but vCenter has done it.',
                    {'step': step, 'err': describe(err)})
        return found
