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
"""The CLI's redaction of secrets in log records (pure logic)."""

import io
import logging

from cinder_vmware_ext.cmd import redact

KEY = '8ab92d3b-2ef7-4fb1-ac83-3848a17f3660'


def test_login_request_and_answer():
    request = ('<ns1:Login><ns1:_this type="SessionManager">SessionManager'
               '</ns1:_this><ns1:userName>admin</ns1:userName>'
               '<ns1:password>pa&lt;ss</ns1:password></ns1:Login>')
    answer = ('<soapenv:Body><LoginResponse xmlns="urn:vim25"><returnval>'
              '<key>%s</key><userName>admin</userName>' % KEY)
    text = redact.redact(request + answer, secrets=())
    assert 'pa&lt;ss' not in text and KEY not in text
    assert '<ns1:password>***</ns1:password>' in text
    assert '<returnval><key>***</key><userName>admin' in text


def test_session_ids_morefs_and_cookies():
    text = redact.redact(
        '<sessionID>%s</sessionID> <ns0:sessionId>%s</ns0:sessionId> '
        '<_this type="PropertyCollector">session[%s]1d0b</_this> '
        'Cookie: vmware_soap_session="%s"; Path=/ '
        "{'vmware_soap_session': '%s'}" % ((KEY,) * 5), secrets=())
    assert KEY not in text
    assert 'session[***]1d0b' in text


def test_other_keys_are_kept():
    text = '<returnval><key>config.vpxd.stats</key></returnval>'
    assert redact.redact(text, secrets=()) == text


def test_known_secrets_in_any_form():
    secrets = redact.Secrets()
    secrets.add('s3cr"et&')
    text = redact.redact('tag = "password"\nvalue = "s3cr\\"et&" '
                         '<p>s3cr&quot;et&amp;</p> s3cr"et& s3cr"et&amp;',
                         secrets=secrets)
    assert 's3cr' not in text


def test_filter_masks_message_args_and_traceback():
    redact.add_secret('hunter2-unit')
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redact.RedactingFilter())
    log = logging.getLogger('test_cli_redact')
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning('login with %s', 'hunter2-unit')
        try:
            raise ValueError('bad hunter2-unit')
        except ValueError:
            log.exception('failed')
    finally:
        log.removeHandler(handler)
    assert 'hunter2-unit' not in stream.getvalue()
    assert 'login with ***' in stream.getvalue()
    assert 'ValueError: bad ***' in stream.getvalue()


def test_results_file_holds_no_secret(tmp_path):
    from cinder_vmware_ext.cmd import runner
    from cinder_vmware_ext.takeover import plan
    redact.add_secret('hunter3-results')

    def work(step):
        raise RuntimeError('login as admin/hunter3-results refused')

    results = tmp_path / 'inventory.json.import.jsonl'
    step = plan.Step('[ds] a.vmdk', plan.MANAGE,
                     {'proposed': {'name': 'a'}})
    done = runner.Runner(None, str(results)).run([step], work)
    assert done[0]['status'] == plan.FAILED
    assert 'hunter3-results' not in done[0]['reason']
    text = results.read_text()
    assert 'refused' in text and 'hunter3-results' not in text
