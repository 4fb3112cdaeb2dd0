package simulator

// Redaction of the SOAP trace (-trace, VCSIM_TRACE=1): the Login password
// (any *password element) and session keys, which are also the session
// cookies' values, never reach the log. The launcher passes every trace
// line through RedactTrace.

import (
	"regexp"
	"strings"
)

var tracePasswordRe = regexp.MustCompile(`(?i)(<(?:[a-z0-9_]+:)?[a-z]*password(?:\s[^>]*)?>)[^<]*(</(?:[a-z0-9_]+:)?[a-z]*password>)`)

// traceCookieRe: a session cookie, should a header ever be logged.
var traceCookieRe = regexp.MustCompile(`(vmware_soap_session=)"?[^";\s]+"?`)

const traceRedacted = "(redacted)"

// RedactTrace removes passwords and session keys from one trace line.
func RedactTrace(line string) string {
	line = tracePasswordRe.ReplaceAllString(line, "${1}"+traceRedacted+"${2}")
	line = traceCookieRe.ReplaceAllString(line, "${1}"+traceRedacted)
	for _, key := range traceSessionKeys() {
		line = strings.ReplaceAll(line, key, traceRedacted)
	}
	return line
}

// traceSessionKeys lists the keys of live and ended sessions.
func traceSessionKeys() (keys []string) {
	adminInjector.mu.Lock()
	for key := range adminInjector.invalidated {
		keys = append(keys, key)
	}
	adminInjector.mu.Unlock()
	defer func() { _ = recover() }() // no model (yet): no live sessions
	sm := Map.SessionManager()
	sessionMutex.Lock()
	defer sessionMutex.Unlock()
	for key := range sm.sessions {
		keys = append(keys, key)
	}
	return keys
}
