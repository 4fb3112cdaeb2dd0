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
"""One parsed WSDL per test process, for every simulator.

suds builds its WSDL object model (about 3 to 5 s of CPU for vim25) for
every client it makes; oslo.vmware makes one per session (vim) and one
per PBM client.  The functional tests make hundreds, against simulators
that all serve the WSDL of one build: that parse was most of their time.
``install()`` keeps, in this process, the first Definitions built for each
WSDL path (the URL without scheme, host and port) and hands it to later
clients, as suds' own ``cachingpolicy = 1`` does per URL.  Every SOAP call
still goes over HTTPS to its own simulator (``location`` is the client's
own option).  What a shared Definitions carries across clients: suds'
binding reads the SOAP headers from the last client's options, so an
operationID header may name another client's call.  The PBM service's
header is the vCenter session cookie, which must be the client's own: its
WSDL is never shared (``SHARED`` names the WSDLs that are).

Only the test processes do this; the product's services parse their WSDL
once each at start-up, as with a real vCenter.
"""

import re
import threading

# vim25's WSDL (and its imports): the one every session parses.
SHARED = re.compile(r'/vim[^/]*\.wsdl$|/vimService\.wsdl$')
_DEFINITIONS = {}
_LOCK = threading.Lock()
_INSTALLED = []


def key(url):
    """Where a WSDL URL is cached: its path (simulators share one build)."""
    return re.sub(r'^[a-z]+://[^/]*', '', url)


def install():
    """Share parsed WSDLs between the suds clients of this process."""
    if _INSTALLED:
        return
    from suds import reader
    build = reader.DefinitionsReader.open

    def open_shared(self, url):
        if not SHARED.search(key(url)):
            return build(self, url)
        with _LOCK:
            wsdl = _DEFINITIONS.get(key(url))
        if wsdl is None:
            wsdl = build(self, url)
            with _LOCK:
                _DEFINITIONS.setdefault(key(url), wsdl)
            return wsdl
        # As suds does for a Definitions it caches: this client's options.
        wsdl.options = self.options
        for imp in wsdl.imports:
            imp.imported.options = self.options
        return wsdl

    reader.DefinitionsReader.open = open_shared
    _INSTALLED.append(build)


def shared(url):
    """The Definitions cached for ``url``, or None."""
    with _LOCK:
        return _DEFINITIONS.get(key(url))
