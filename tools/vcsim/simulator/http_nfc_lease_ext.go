package simulator

// Uploads to an import lease (ImportVApp, as upstream Cinder's
// copy_image_to_volume of a streamOptimized image sends them) land in the
// disk: vcsim 0.24.2 discarded the bytes. A streamOptimized VMDK is
// inflated grain by grain into the disk's data file, as ESXi does; any
// other upload is written into it as it is (patches/314-*).

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"path/filepath"
)

// nfcUpload writes body into the disk whose descriptor is file; handled
// is false when file is not such a disk (the upload is then discarded).
// A streamOptimized upload also sets the disk's capacity from its header
// (Cinder imports with a 0-byte disk: "let vCenter figure out the disk
// capacity"), charged to the datastore like an extend.
func nfcUpload(lease *HttpNfcLease, file string, body io.Reader) (handled bool, n int64, err error) {
	d, err := readDescriptor(file)
	if err != nil || d.DataFile() == "" {
		return false, 0, nil
	}
	if !safeDatastoreRelPath(d.DataFile()) { // never write outside the datastore
		return true, 0, fmt.Errorf("%s: extent %q leaves the datastore", file, d.DataFile())
	}
	counted := &countingReader{r: body}
	r := bufio.NewReaderSize(counted, 1<<20)
	capacity := d.Capacity()
	head, _ := r.Peek(streamSector)
	stream := len(head) == streamSector && string(head[:4]) == "KDMV"
	if stream {
		h := new(streamHeader)
		_ = binary.Read(bytes.NewReader(head), binary.LittleEndian, h)
		if err := checkStreamHeader(h); err != nil {
			return true, 0, err // before the disk is grown for it
		}
		want := int64(h.Capacity) * streamSector
		if want > capacity {
			if err := growLeaseDisk(lease, file, want); err != nil {
				return true, 0, err
			}
			capacity = want
		}
	}
	f, err := os.OpenFile(filepath.Join(filepath.Dir(file), d.DataFile()), os.O_RDWR, 0)
	if err != nil {
		return true, 0, err
	}
	defer f.Close()
	if stream {
		err = inflateStreamOptimized(r, f, capacity)
	} else {
		_, err = io.Copy(f, io.LimitReader(r, capacity))
	}
	return true, counted.n, err
}

// growLeaseDisk extends the lease VM's disk whose descriptor is local.
func growLeaseDisk(lease *HttpNfcLease, local string, capacity int64) error {
	vm, ok := Map.Get(lease.Info.Entity).(*VirtualMachine)
	if !ok {
		return fmt.Errorf("lease entity %s is not a VM", lease.Info.Entity)
	}
	dc := vm.dcRef()
	for _, dev := range vm.Config.Hardware.Device {
		_, b := diskAndBacking(dev)
		if b == nil {
			continue
		}
		if _, p, fault := resolveDsPath(dc, b.FileName); fault == nil && p == local {
			if fault := extendDisk(b.FileName, dc, capacity); fault != nil {
				return fmt.Errorf("%s: %T", b.FileName, fault)
			}
			syncAttachedDiskCapacity(b.FileName, capacity)
			return nil
		}
	}
	return fmt.Errorf("%s is not a disk of %s", local, vm.Self)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// inflateStreamOptimized reads a streamOptimized VMDK sequentially (header,
// descriptor up to overHead, then markers) and writes each grain's bytes
// at its LBA, at most limit bytes into f; zero grains are skipped so thin
// disks stay sparse. Anything malformed is an error naming the problem.
func inflateStreamOptimized(r io.Reader, f *os.File, limit int64) error {
	h, _, err := readStreamPrologue(r)
	if err != nil {
		return err
	}
	return inflateStreamGrains(r, h, f, limit)
}

// readStreamPrologue reads and checks the sparse header and everything up
// to overHead, returning the header and its embedded descriptor.
func readStreamPrologue(r io.Reader) (*streamHeader, []byte, error) {
	sector := make([]byte, streamSector)
	if _, err := io.ReadFull(r, sector); err != nil {
		return nil, nil, fmt.Errorf("no sparse header: %v", err)
	}
	h := new(streamHeader)
	_ = binary.Read(bytes.NewReader(sector), binary.LittleEndian, h)
	if err := checkStreamHeader(h); err != nil {
		return nil, nil, err
	}
	rest := make([]byte, (h.OverHead-1)*streamSector)
	if _, err := io.ReadFull(r, rest); err != nil {
		return nil, nil, fmt.Errorf("truncated in its first %d sectors", h.OverHead)
	}
	var desc []byte
	if h.DescriptorSize > 0 {
		start := (h.DescriptorOffset - 1) * streamSector
		desc = bytes.TrimRight(rest[start:start+h.DescriptorSize*streamSector], "\x00")
	}
	return h, desc, nil
}

// checkStreamHeader accepts what VMware's format allows for a
// streamOptimized extent: compressed grains with markers, deflate, grains
// of a power of two sectors, the descriptor inside the overhead.
func checkStreamHeader(h *streamHeader) error {
	switch {
	case h.MagicNumber != 0x564d444b:
		return fmt.Errorf("not a sparse VMDK (magic %#x)", h.MagicNumber)
	case h.Flags&(1<<16) == 0 || h.Flags&(1<<17) == 0:
		return fmt.Errorf("a sparse VMDK that is not streamOptimized (flags %#x)", h.Flags)
	case h.CompressAlgorithm != 1:
		return fmt.Errorf("unknown compression algorithm %d", h.CompressAlgorithm)
	case h.Capacity == 0 || h.Capacity > 1<<41: // 1 PiB
		return fmt.Errorf("bad capacity of %d sectors", h.Capacity)
	case h.GrainSize < 8 || h.GrainSize > 1<<16 || h.GrainSize&(h.GrainSize-1) != 0:
		return fmt.Errorf("bad grain size of %d sectors", h.GrainSize)
	case h.NumGTEsPerGT == 0 || h.NumGTEsPerGT > 1<<16:
		return fmt.Errorf("bad grain table size of %d entries", h.NumGTEsPerGT)
	case h.OverHead < 1 || h.OverHead > 1<<16:
		return fmt.Errorf("bad overhead of %d sectors", h.OverHead)
	case h.DescriptorSize > 0 && (h.DescriptorOffset < 1 || h.DescriptorOffset+h.DescriptorSize > h.OverHead):
		return fmt.Errorf("descriptor at sector %d (%d sectors) outside the overhead", h.DescriptorOffset, h.DescriptorSize)
	}
	return nil
}

// inflateStreamGrains reads the markers after the prologue up to the
// end-of-stream marker (a stream without one is truncated).
func inflateStreamGrains(r io.Reader, h *streamHeader, f *os.File, limit int64) error {
	grainBytes := int64(h.GrainSize) * streamSector
	gtSectors := (uint64(h.NumGTEsPerGT)*4 + streamSector - 1) / streamSector
	tables := ((h.Capacity+h.GrainSize-1)/h.GrainSize + uint64(h.NumGTEsPerGT) - 1) / uint64(h.NumGTEsPerGT)
	gdSectors := (tables*4 + streamSector - 1) / streamSector
	maxMeta := map[uint32]uint64{streamMarkerGT: gtSectors, streamMarkerGD: gdSectors, streamMarkerFooter: 1}
	// deflate never grows data by more than a few bytes per 16 KiB block
	maxCompressed := grainBytes + grainBytes/1024 + 64
	sector := make([]byte, streamSector)
	at := int64(h.OverHead) // sector being read, for messages
	for {
		if _, err := io.ReadFull(r, sector); err != nil {
			return fmt.Errorf("truncated at sector %d: no end-of-stream marker", at)
		}
		val := binary.LittleEndian.Uint64(sector[0:])
		size := int64(binary.LittleEndian.Uint32(sector[8:]))
		if size == 0 {
			kind := binary.LittleEndian.Uint32(sector[12:])
			if kind == streamMarkerEOS {
				return nil
			}
			most, ok := maxMeta[kind]
			if !ok {
				return fmt.Errorf("unknown marker type %d at sector %d", kind, at)
			}
			if val > most {
				return fmt.Errorf("marker type %d at sector %d claims %d sectors", kind, at, val)
			}
			// GT, GD or footer: not needed reading in order.
			if _, err := io.CopyN(ioutil.Discard, r, int64(val)*streamSector); err != nil {
				return fmt.Errorf("truncated in the metadata at sector %d", at)
			}
			at += 1 + int64(val)
			continue
		}
		if size > maxCompressed || val >= h.Capacity || val%h.GrainSize != 0 {
			return fmt.Errorf("bad grain marker at sector %d (LBA %d, %d bytes)", at, val, size)
		}
		off := int64(val) * streamSector
		total := (12 + size + streamSector - 1) / streamSector * streamSector
		buf := make([]byte, total)
		copy(buf, sector)
		if _, err := io.ReadFull(r, buf[streamSector:]); err != nil {
			return fmt.Errorf("truncated in the grain at sector %d", at)
		}
		grain, err := inflateGrain(buf[12:12+size], grainBytes)
		if err != nil {
			return fmt.Errorf("grain at sector %d (LBA %d): %v", at, val, err)
		}
		at += total / streamSector
		if off >= limit || isZero(grain) {
			continue
		}
		if off+int64(len(grain)) > limit {
			grain = grain[:limit-off]
		}
		if _, err := f.WriteAt(grain, off); err != nil {
			return err
		}
	}
}

// inflateGrain decompresses one grain (zlib, checksum verified), refusing
// more than a grain of output.
func inflateGrain(z []byte, grainBytes int64) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	grain, err := ioutil.ReadAll(io.LimitReader(zr, grainBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(grain)) > grainBytes {
		return nil, fmt.Errorf("inflates to more than a grain")
	}
	return grain, nil
}
