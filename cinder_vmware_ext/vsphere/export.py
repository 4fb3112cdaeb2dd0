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
"""Export leases: ``VirtualMachineSnapshot.ExportSnapshot`` and the
``HttpNfcLease`` it returns (wait, info, progress, complete, abort), and
the download of one of the lease's device URLs.

One function is one round trip; the caller (``cinder-vmware snapshot
export``) keeps the lease alive and ends it on every path.
"""

import ssl
import urllib.parse
import urllib.request

from oslo_vmware import vim_util

CHUNK = 1024 * 1024


def export_snapshot(session, snapshot):
    """Start ExportSnapshot; returns the HttpNfcLease moref."""
    return session.invoke_api(session.vim, 'ExportSnapshot', snapshot)


def wait_ready(session, lease):
    """Block until the lease is ready (raises when it goes to error)."""
    session.wait_for_lease_ready(lease)


def lease_info(session, lease):
    """The lease's HttpNfcLeaseInfo (deviceUrl[], totalDiskCapacityInKB)."""
    return session.invoke_api(vim_util, 'get_object_property', session.vim,
                              lease, 'info')


def progress(session, lease, percent):
    """HttpNfcLeaseProgress: also what keeps the lease from timing out."""
    session.invoke_api(session.vim, 'HttpNfcLeaseProgress', lease,
                       percent=int(max(0, min(100, percent))))


def complete(session, lease):
    session.invoke_api(session.vim, 'HttpNfcLeaseComplete', lease)


def abort(session, lease, message=None):
    """HttpNfcLeaseAbort, with a LocalizedMethodFault saying why."""
    fault = None
    if message:
        fault = session.vim.client.factory.create('ns0:LocalizedMethodFault')
        fault.localizedMessage = message
        fault.fault = session.vim.client.factory.create('ns0:SystemError')
        fault.fault.reason = message
    session.invoke_api(session.vim, 'HttpNfcLeaseAbort', lease, fault=fault)


def device_url(url, host, port):
    """Return a lease's device URL with vCenter's address.

    The lease's URL with vCenter's address for a '*' host (as ESX
    hosts and vcsim give it).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.hostname in ('*', None):
        netloc = '[%s]:%s' % (host, port) if ':' in host else \
            '%s:%s' % (host, port)
        parts = parts._replace(netloc=netloc)
    return urllib.parse.urlunsplit(parts)


def open_download(session, url, ca_file=None, insecure=False, timeout=300):
    """Open the download of one device URL of a lease.

    GET one device URL of a lease with the session's cookie; returns
    the open HTTP response (read it in chunks, then close it).
    """
    if insecure:
        context = ssl._create_unverified_context()
    else:
        context = ssl.create_default_context(cafile=ca_file)
    request = urllib.request.Request(url, method='GET')
    cookie = session.vim.get_http_cookie()
    if cookie:
        request.add_header('Cookie', cookie)
    return urllib.request.urlopen(request, context=context, timeout=timeout)
