package simulator

// VMware disk descriptors: parsing, writing and editing the text
// descriptor of a disk (createType, extent lines, ddb.* entries), disk
// UUIDs, data file names and geometry. No file system or datastore work
// here: the disk operations are in vmdk_disk.go.
//
// A disk "[ds] dir/NAME.vmdk" is a text descriptor NAME.vmdk plus a data
// file: NAME-flat.vmdk for a base disk (a sparse file of exactly the
// capacity), or NAME-delta.vmdk for a delta disk (a sparse file of the same
// size whose written, non-hole regions override its parent's bytes). The
// descriptor is what VMware writes (createType vmfs / vmfsSparse, extent
// lines, ddb.* entries), so tests and drivers can read it like a real one.

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

const (
	vmdkSectorSize = 512
	vmdkNoParent   = "ffffffff"
)

// vmdkExtent is one extent line: `RW 2097152 VMFS "disk-flat.vmdk"`.
type vmdkExtent struct {
	Access  string
	Sectors int64
	Type    string
	File    string
}

// vmdkDescriptor is a parsed VMware text disk descriptor.
type vmdkDescriptor struct {
	Version            string
	Encoding           string
	CID                string
	ParentCID          string
	CreateType         string
	ParentFileNameHint string
	Extents            []vmdkExtent
	ddbKeys            []string // in file order, so rewrites keep the layout
	ddb                map[string]string
}

func (d *vmdkDescriptor) Capacity() int64 {
	var n int64
	for _, e := range d.Extents {
		n += e.Sectors * vmdkSectorSize
	}
	return n
}

func (d *vmdkDescriptor) IsDelta() bool {
	return d.ParentFileNameHint != "" || strings.EqualFold(d.CreateType, "vmfsSparse")
}

// Thin reports whether the disk is thin provisioned (a delta always is).
func (d *vmdkDescriptor) Thin() bool {
	return d.IsDelta() || d.DDB("ddb.thinProvisioned") == "1"
}

// DataFile is the (first) extent's file name, relative to the descriptor.
func (d *vmdkDescriptor) DataFile() string {
	if len(d.Extents) == 0 {
		return ""
	}
	return d.Extents[0].File
}

func (d *vmdkDescriptor) DDB(key string) string { return d.ddb[key] }

func (d *vmdkDescriptor) SetDDB(key, val string) {
	if d.ddb == nil {
		d.ddb = map[string]string{}
	}
	if _, ok := d.ddb[key]; !ok {
		d.ddbKeys = append(d.ddbKeys, key)
	}
	d.ddb[key] = val
}

func (d *vmdkDescriptor) UUID() string        { return d.DDB("ddb.uuid") }
func (d *vmdkDescriptor) AdapterType() string { return d.DDB("ddb.adapterType") }

var (
	vmdkExtentRe = regexp.MustCompile(`^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)(?:\s+"(.*)")?(?:\s+\d+)?\s*$`)
	vmdkKVRe     = regexp.MustCompile(`^([A-Za-z0-9_.]+)\s*=\s*"?(.*?)"?\s*$`)
)

var errNotDescriptor = errors.New("not a disk descriptor")

// readDescriptor parses the descriptor at localPath. A monolithic sparse
// file (magic "KDMV": an uploaded streamOptimized VMDK) is not one, even
// though it embeds a descriptor: its extent line names no separate file
// and it was never charged to the datastore.
func readDescriptor(localPath string) (*vmdkDescriptor, error) {
	f, err := os.Open(localPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, 64*1024))
	if magic, _ := r.Peek(4); string(magic) == "KDMV" {
		return nil, errNotDescriptor
	}
	return parseDescriptor(r)
}

func parseDescriptor(r io.Reader) (*vmdkDescriptor, error) {
	d := &vmdkDescriptor{ddb: map[string]string{}}
	sc := bufio.NewScanner(r)
	header := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, "# Disk DescriptorFile") {
				header = true
			}
			continue
		}
		if m := vmdkExtentRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			d.Extents = append(d.Extents, vmdkExtent{Access: m[1], Sectors: n, Type: m[3], File: m[4]})
			continue
		}
		m := vmdkKVRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch key, val := m[1], m[2]; {
		case strings.HasPrefix(key, "ddb."):
			d.SetDDB(key, val)
		case key == "version":
			d.Version = val
		case key == "encoding":
			d.Encoding = val
		case key == "CID":
			d.CID = val
		case key == "parentCID":
			d.ParentCID = val
		case key == "createType":
			d.CreateType = val
		case key == "parentFileNameHint":
			d.ParentFileNameHint = val
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !header && d.CreateType == "" {
		return nil, errNotDescriptor
	}
	return d, nil
}

// String renders the descriptor the way ESXi writes it.
func (d *vmdkDescriptor) String() string {
	var b strings.Builder
	b.WriteString("# Disk DescriptorFile\n")
	fmt.Fprintf(&b, "version=%s\n", orDefault(d.Version, "1"))
	fmt.Fprintf(&b, "encoding=%q\n", orDefault(d.Encoding, "UTF-8"))
	fmt.Fprintf(&b, "CID=%s\n", d.CID)
	fmt.Fprintf(&b, "parentCID=%s\n", orDefault(d.ParentCID, vmdkNoParent))
	fmt.Fprintf(&b, "createType=%q\n", d.CreateType)
	if d.ParentFileNameHint != "" {
		fmt.Fprintf(&b, "parentFileNameHint=%q\n", d.ParentFileNameHint)
	}
	b.WriteString("\n# Extent description\n")
	for _, e := range d.Extents {
		fmt.Fprintf(&b, "%s %d %s %q\n", e.Access, e.Sectors, e.Type, e.File)
	}
	b.WriteString("\n# The Disk Data Base \n#DDB\n\n")
	for _, k := range d.ddbKeys {
		fmt.Fprintf(&b, "%s = %q\n", k, d.ddb[k])
	}
	return b.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeDescriptor writes atomically (temp file + rename) so a reader never
// sees half a descriptor.
func writeDescriptor(localPath string, d *vmdkDescriptor) error {
	tmp := localPath + ".tmp-desc"
	if err := os.WriteFile(tmp, []byte(d.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, localPath)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newDiskUUID returns a uuid in ESXi's descriptor format,
// "60 00 C2 9x xx xx xx xx-xx xx xx xx xx xx xx xx".
func newDiskUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[0], b[1], b[2] = 0x60, 0x00, 0xC2
	b[3] = 0x90 | (b[3] & 0x0f)
	return formatDiskUUID(b)
}

func formatDiskUUID(b []byte) string {
	parts := make([]string, 16)
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	if parts[0] == "60" && parts[1] == "00" && parts[2] == "c2" {
		parts[2] = "C2" // ESXi writes VMware's OUI this way
	}
	return strings.Join(parts[:8], " ") + "-" + strings.Join(parts[8:], " ")
}

// normalizeDiskUUID accepts a uuid in either descriptor form
// ("60 00 C2 ...-...") or RFC 4122 form ("6000c29x-...") and returns the
// descriptor form; ok is false when it is not 16 hex bytes.
func normalizeDiskUUID(s string) (string, bool) {
	clean := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s))
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != 16 {
		return "", false
	}
	return formatDiskUUID(b), true
}

// diskUUIDToRFC turns the descriptor form into the backing.uuid form
// ("6000c29x-xxxx-xxxx-xxxx-xxxxxxxxxxxx").
func diskUUIDToRFC(s string) string {
	clean := strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(s))
	if len(clean) != 32 {
		return ""
	}
	return clean[0:8] + "-" + clean[8:12] + "-" + clean[12:16] + "-" + clean[16:20] + "-" + clean[20:]
}

// vmdkDataName derives the data file name for a descriptor name:
// "disk.vmdk" -> "disk-flat.vmdk" or "disk-delta.vmdk".
func vmdkDataName(descName string, delta bool) string {
	base := strings.TrimSuffix(descName, ".vmdk")
	if delta {
		return base + "-delta.vmdk"
	}
	return base + "-flat.vmdk"
}

func newBaseDescriptor(dataFile string, capacityBytes int64, thin bool, adapterType string) *vmdkDescriptor {
	sectors := (capacityBytes + vmdkSectorSize - 1) / vmdkSectorSize
	d := &vmdkDescriptor{
		Version: "1", Encoding: "UTF-8", CID: randomHex(4), ParentCID: vmdkNoParent,
		CreateType: "vmfs",
		Extents:    []vmdkExtent{{Access: "RW", Sectors: sectors, Type: "VMFS", File: dataFile}},
	}
	if adapterType == "" {
		adapterType = "lsilogic"
	}
	d.SetDDB("ddb.adapterType", adapterType)
	setGeometry(d, sectors)
	d.SetDDB("ddb.longContentID", randomHex(16))
	if thin {
		d.SetDDB("ddb.thinProvisioned", "1")
	}
	d.SetDDB("ddb.uuid", newDiskUUID())
	d.SetDDB("ddb.virtualHWVersion", "13")
	return d
}

// setGeometry fills the CHS figures ESXi writes (IDE uses 16 heads).
func setGeometry(d *vmdkDescriptor, sectors int64) {
	heads, spt := int64(255), int64(63)
	if strings.EqualFold(d.AdapterType(), "ide") {
		heads = 16
	}
	d.SetDDB("ddb.geometry.cylinders", strconv.FormatInt(sectors/(heads*spt), 10))
	d.SetDDB("ddb.geometry.heads", strconv.FormatInt(heads, 10))
	d.SetDDB("ddb.geometry.sectors", strconv.FormatInt(spt, 10))
}
