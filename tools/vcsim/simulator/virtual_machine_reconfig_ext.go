package simulator

import (
	"regexp"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/vim25/types"
)

// An instanceUuid element sent empty, with or without a namespace prefix.
var emptyInstanceUUID = regexp.MustCompile(`<(\w+:)?instanceUuid\s*(/>|>\s*</(\w+:)?instanceUuid>)`)

// reconfigEmptyInstanceUUID gives a VM a new instance UUID when
// ReconfigVM_Task sends config.instanceUuid = "", as vCenter does
// (upstream Cinder's unmanage relies on it). govmomi's decoded spec cannot
// tell an empty string from an absent one, so the raw request decides.
func reconfigEmptyInstanceUUID(method *Method, body []byte) {
	req, ok := method.Body.(*types.ReconfigVM_Task)
	if !ok || req.Spec.InstanceUuid != "" || !emptyInstanceUUID.Match(body) {
		return
	}
	req.Spec.InstanceUuid = uuid.New().String()
}
