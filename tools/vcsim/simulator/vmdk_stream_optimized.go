package simulator

// streamOptimized VMDKs, as vCenter serves a disk through an export lease
// (ExportVm, ExportSnapshot): VMware's "Virtual Disk Format 5.0",
// stream-optimized compressed sparse extent.
//
//	sector 0        sparse header, gdOffset = GD_AT_END
//	sector 1..      embedded descriptor (createType "streamOptimized")
//	sector 128..    for each grain table's worth of grains (512 x 64 KiB):
//	                  each grain holding data: marker {lba uint64, size
//	                  uint32} then its zlib-deflated 64 KiB, padded to a
//	                  sector; then a GT marker and the grain table
//	                  (sector offsets of the grain markers, 0 = zeros)
//	                GD marker, grain directory (sector offsets of the GTs)
//	                footer marker, footer (the header with the real
//	                gdOffset), end-of-stream marker
//
// All-zero grains and grain tables are left out, as VMware does.

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"syscall"
)

const (
	streamSector      = 512
	streamGrainSector = 128 // 64 KiB grains
	streamGrainBytes  = streamGrainSector * streamSector
	streamGTEntries   = 512
	streamOverhead    = 128 // sectors before the first grain
	streamGDAtEnd     = ^uint64(0)

	streamMarkerEOS    = 0
	streamMarkerGT     = 1
	streamMarkerGD     = 2
	streamMarkerFooter = 3
)

// streamHeader is SparseExtentHeader (little endian, 512 bytes with pad).
type streamHeader struct {
	MagicNumber        uint32
	Version            uint32
	Flags              uint32
	Capacity           uint64
	GrainSize          uint64
	DescriptorOffset   uint64
	DescriptorSize     uint64
	NumGTEsPerGT       uint32
	RgdOffset          uint64
	GdOffset           uint64
	OverHead           uint64
	UncleanShutdown    uint8
	SingleEndLineChar  byte
	NonEndLineChar     byte
	DoubleEndLineChar1 byte
	DoubleEndLineChar2 byte
	CompressAlgorithm  uint16
	Pad                [433]byte
}

// streamWriter counts sectors written.
type streamWriter struct {
	w      io.Writer
	offset int64
}

func (s *streamWriter) write(b []byte) error {
	n, err := s.w.Write(b)
	s.offset += int64(n)
	return err
}

// pad writes zeros up to the next sector boundary.
func (s *streamWriter) pad() error {
	if r := s.offset % streamSector; r != 0 {
		return s.write(make([]byte, streamSector-r))
	}
	return nil
}

func (s *streamWriter) sector() uint64 { return uint64(s.offset / streamSector) }

// marker writes a metadata marker sector (numSectors of what follows).
func (s *streamWriter) marker(numSectors uint64, kind uint32) error {
	b := make([]byte, streamSector)
	binary.LittleEndian.PutUint64(b[0:], numSectors)
	binary.LittleEndian.PutUint32(b[12:], kind)
	return s.write(b)
}

func (s *streamWriter) header(h *streamHeader) error {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, h); err != nil {
		return err
	}
	return s.write(b.Bytes())
}

func (s *streamWriter) uint32s(v []uint32) error {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
		return err
	}
	if err := s.write(b.Bytes()); err != nil {
		return err
	}
	return s.pad()
}

// streamDescriptor is the embedded descriptor of a streamOptimized disk.
func streamDescriptor(name string, sectors uint64, adapter string) string {
	if adapter == "" {
		adapter = "lsilogic"
	}
	cylinders := sectors / (255 * 63)
	if cylinders > 65535 {
		cylinders = 65535
	}
	return fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=%08x
parentCID=ffffffff
createType="streamOptimized"

# Extent description
RW %d SPARSE "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "%s"
ddb.geometry.cylinders = "%d"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.virtualHWVersion = "4"
`, rand.Uint32(), sectors, name, adapter, cylinders)
}

// writeStreamOptimized writes size bytes of raw (a flat image, read from
// offset 0) to w as a streamOptimized VMDK named name.
func writeStreamOptimized(w io.Writer, raw *os.File, size int64, name, adapter string) error {
	sectors := uint64((size + streamSector - 1) / streamSector)
	grains := (sectors + streamGrainSector - 1) / streamGrainSector
	tables := (grains + streamGTEntries - 1) / streamGTEntries
	desc := []byte(streamDescriptor(name, sectors, adapter))
	descSectors := uint64((len(desc) + streamSector - 1) / streamSector)
	if 1+descSectors > streamOverhead {
		return fmt.Errorf("descriptor too large")
	}
	h := &streamHeader{
		MagicNumber:        0x564d444b, // "KDMV"
		Version:            3,
		Flags:              1 | 1<<16 | 1<<17, // newline test, compressed grains, markers
		Capacity:           sectors,
		GrainSize:          streamGrainSector,
		DescriptorOffset:   1,
		DescriptorSize:     descSectors,
		NumGTEsPerGT:       streamGTEntries,
		GdOffset:           streamGDAtEnd,
		OverHead:           streamOverhead,
		SingleEndLineChar:  '\n',
		NonEndLineChar:     ' ',
		DoubleEndLineChar1: '\r',
		DoubleEndLineChar2: '\n',
		CompressAlgorithm:  1, // deflate (zlib stream)
	}
	s := &streamWriter{w: w}
	if err := s.header(h); err != nil {
		return err
	}
	if err := s.write(desc); err != nil {
		return err
	}
	if err := s.write(make([]byte, (streamOverhead-1)*streamSector-len(desc))); err != nil {
		return err
	}
	gd := make([]uint32, tables)
	grain := make([]byte, streamGrainBytes)
	data := newDataMap(raw, size)
	for t := uint64(0); t < tables; t++ {
		gt := make([]uint32, streamGTEntries)
		used := false
		for e := uint64(0); e < streamGTEntries; e++ {
			g := t*streamGTEntries + e
			if g >= grains {
				break
			}
			off := int64(g) * streamGrainBytes
			if !data.has(off, streamGrainBytes) {
				continue
			}
			n, err := raw.ReadAt(grain, off)
			if err != nil && err != io.EOF {
				return err
			}
			for i := n; i < len(grain); i++ {
				grain[i] = 0
			}
			if isZero(grain) {
				continue
			}
			gt[e] = uint32(s.sector())
			if err := s.grain(g*streamGrainSector, grain); err != nil {
				return err
			}
			used = true
		}
		if !used {
			continue
		}
		if err := s.marker(streamGTEntries*4/streamSector, streamMarkerGT); err != nil {
			return err
		}
		gd[t] = uint32(s.sector())
		if err := s.uint32s(gt); err != nil {
			return err
		}
	}
	gdSectors := (uint64(len(gd))*4 + streamSector - 1) / streamSector
	if err := s.marker(gdSectors, streamMarkerGD); err != nil {
		return err
	}
	h.GdOffset = s.sector()
	if err := s.uint32s(gd); err != nil {
		return err
	}
	if err := s.marker(1, streamMarkerFooter); err != nil {
		return err
	}
	if err := s.header(h); err != nil {
		return err
	}
	return s.marker(0, streamMarkerEOS)
}

// grain writes one compressed grain with its marker.
func (s *streamWriter) grain(lba uint64, grain []byte) error {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	if _, err := zw.Write(grain); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	m := make([]byte, 12)
	binary.LittleEndian.PutUint64(m[0:], lba)
	binary.LittleEndian.PutUint32(m[8:], uint32(z.Len()))
	if err := s.write(m); err != nil {
		return err
	}
	if err := s.write(z.Bytes()); err != nil {
		return err
	}
	return s.pad()
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// dataMap answers "is there data in [off, off+n)" from the file's holes
// (SEEK_DATA), so sparse disks are not read through.
type dataMap struct {
	f    *os.File
	size int64
	next int64 // offset of the next data at or after last, -1 unknown
	last int64
}

func newDataMap(f *os.File, size int64) *dataMap { return &dataMap{f: f, size: size, next: -1} }

func (d *dataMap) has(off, n int64) bool {
	if d.next < 0 || off < d.last || d.next < off {
		next, err := d.f.Seek(off, 3) // SEEK_DATA
		switch {
		case err == nil:
			d.next = next
		case errors.Is(err, syscall.ENXIO):
			d.next = d.size // no data after off
		default:
			return true // no hole support: read it
		}
		d.last = off
	}
	return d.next < off+n
}
