package simulator

// LoadTopology builds the inventory described by a topology JSON file
// (schema: tools/vcsim/topologies/README.md) into the running model.
// Placeholder until the topology loader lands.
func LoadTopology(path string, datastoreRoot string) error {
	return nil
}
