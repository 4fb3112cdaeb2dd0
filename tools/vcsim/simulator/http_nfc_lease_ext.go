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
	counted := &countingReader{r: body}
	r := bufio.NewReaderSize(counted, 1<<20)
	capacity := d.Capacity()
	head, _ := r.Peek(streamSector)
	stream := len(head) == streamSector && string(head[:4]) == "KDMV"
	if stream {
		want := int64(binary.LittleEndian.Uint64(head[12:])) * streamSector
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
// at its LBA; zero grains are skipped so thin disks stay sparse.
func inflateStreamOptimized(r io.Reader, f *os.File, capacity int64) error {
	sector := make([]byte, streamSector)
	if _, err := io.ReadFull(r, sector); err != nil {
		return err
	}
	flags := binary.LittleEndian.Uint32(sector[8:])
	overhead := int64(binary.LittleEndian.Uint64(sector[64:]))
	if flags&(1<<16) == 0 || flags&(1<<17) == 0 {
		return fmt.Errorf("not a streamOptimized VMDK (flags %#x)", flags)
	}
	if _, err := io.CopyN(ioutil.Discard, r, (overhead-1)*streamSector); err != nil {
		return err
	}
	for {
		if _, err := io.ReadFull(r, sector); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		val := binary.LittleEndian.Uint64(sector[0:])
		size := int64(binary.LittleEndian.Uint32(sector[8:]))
		if size == 0 {
			if binary.LittleEndian.Uint32(sector[12:]) == streamMarkerEOS {
				return nil
			}
			// GT, GD or footer: not needed reading in order.
			if _, err := io.CopyN(ioutil.Discard, r, int64(val)*streamSector); err != nil {
				return err
			}
			continue
		}
		total := (12 + size + streamSector - 1) / streamSector * streamSector
		buf := make([]byte, total)
		copy(buf, sector)
		if _, err := io.ReadFull(r, buf[streamSector:]); err != nil {
			return err
		}
		zr, err := zlib.NewReader(bytes.NewReader(buf[12 : 12+size]))
		if err != nil {
			return err
		}
		grain, err := ioutil.ReadAll(zr)
		if err != nil {
			return err
		}
		off := int64(val) * streamSector
		if off >= capacity || isZero(grain) {
			continue
		}
		if off+int64(len(grain)) > capacity {
			grain = grain[:capacity-off]
		}
		if _, err := f.WriteAt(grain, off); err != nil {
			return err
		}
	}
}
