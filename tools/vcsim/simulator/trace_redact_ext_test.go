package simulator

import (
	"strings"
	"testing"
)

func TestRedactTrace(t *testing.T) {
	adminInjector.mu.Lock()
	adminInjector.invalidated["52a1b2c3-dead-beef-0000-123456789abc"] = true
	adminInjector.mu.Unlock()
	defer func() {
		adminInjector.mu.Lock()
		delete(adminInjector.invalidated, "52a1b2c3-dead-beef-0000-123456789abc")
		adminInjector.mu.Unlock()
	}()
	for in, secret := range map[string]string{
		`Request: <Login xmlns="urn:vim25"><userName>admin</userName><password>s3cr&amp;t</password></Login>`: "s3cr&amp;t",
		`<ns1:password xsi:type="xsd:string">hunter2</ns1:password>`:                                          "hunter2",
		`<ChangePassword><oldPassword>old1</oldPassword><newPassword>new2</newPassword></ChangePassword>`:     "old1",
		`<returnval><key>52a1b2c3-dead-beef-0000-123456789abc</key><userName>admin</userName></returnval>`:    "52a1b2c3",
		`Cookie: vmware_soap_session="52a1b2c3-0000"; Path=/`:                                                 "52a1b2c3-0000",
	} {
		out := RedactTrace(in)
		if strings.Contains(out, secret) || !strings.Contains(out, traceRedacted) {
			t.Errorf("%s\n -> %s", in, out)
		}
	}
	if in := `<RetrievePropertiesEx><key>201</key></RetrievePropertiesEx>`; RedactTrace(in) != in {
		t.Errorf("redacted a device key: %s", RedactTrace(in))
	}
}
