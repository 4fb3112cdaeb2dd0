package simulator

// Topology disk files: created through the disk layer (vmdk_disk.go), then
// the start of each data file is filled with a recognisable pattern so
// tests can check that bytes survive copies, moves and clones:
// every 512-byte sector at offset o below min(capacity, 1 MiB) holds the
// text "<datastore path> <o>\n" repeated and cut to 512 bytes. The rest of
// the file stays a hole. An estate of thousands of disks takes a shorter
// pattern (TopologyPatternBytes, the launcher's -pattern-bytes): a few
// blocks per disk instead of a mebibyte.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// TopologyPatternBytes is how much of each data file carries the pattern
// (a multiple of 512; 1 MiB unless the launcher is told otherwise).
var TopologyPatternBytes int64 = 1 << 20

// topoGiB converts GiB (possibly fractional) to bytes, rounded.
func topoGiB(v float64) int64 {
	return int64(math.Round(v * (1 << 30)))
}

// topoDiskBytes is a disk's capacity in bytes, rounded to whole KiB (a
// disk's size is capacityInKB), at least 1 KiB.
func topoDiskBytes(gb float64) int64 {
	kb := int64(math.Round(gb * (1 << 20)))
	if kb < 1 {
		kb = 1
	}
	return kb * 1024
}

func topoBool(b bool) *bool { return &b }

// createDisk writes a base disk (descriptor and sparse data file) at
// dsPath, fills its pattern and returns the disk's uuid as a VirtualDisk
// backing carries it.
func (b *topologyBuilder) createDisk(d *topologyDC, dsPath string, capacity int64, thin bool) (string, error) {
	dc := d.dc.Reference()
	_, local, fault := resolveDsPath(&dc, dsPath)
	if fault != nil {
		return "", fmt.Errorf("%T", fault)
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return "", err
	}
	desc, fault := createBaseDiskDesc(dsPath, &dc, capacity, thin, "lsiLogic", "")
	if fault != nil {
		return "", fmt.Errorf("%T", fault)
	}
	if err := fillTopologyPattern(vmdkDataName(local, false), dsPath, capacity); err != nil {
		return "", err
	}
	return diskUUIDToRFC(desc.UUID()), nil
}

// topologyPatternSector is the pattern sector at offset off of dsPath.
func topologyPatternSector(dsPath string, off int64) []byte {
	line := fmt.Sprintf("%s %d\n", dsPath, off)
	return []byte(strings.Repeat(line, 512/len(line)+1)[:512])
}

// fillTopologyPattern writes the pattern over the first min(capacity,
// TopologyPatternBytes) bytes of a data file, leaving its size unchanged.
func fillTopologyPattern(dataFile, dsPath string, capacity int64) error {
	f, err := os.OpenFile(dataFile, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	end := capacity
	if end > TopologyPatternBytes {
		end = TopologyPatternBytes
	}
	buf := make([]byte, 0, end)
	for off := int64(0); off < end; off += 512 {
		sector := topologyPatternSector(dsPath, off)
		if rest := end - off; rest < 512 {
			sector = sector[:rest]
		}
		buf = append(buf, sector...)
	}
	_, err = f.WriteAt(buf, 0)
	return err
}
