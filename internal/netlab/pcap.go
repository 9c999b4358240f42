package netlab

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
)

// Classic pcap (not pcapng): what tshark, tcpdump and the advert tests'
// small reader all read.
const (
	pcapMagic        = 0xa1b2c3d4 // microsecond timestamps
	pcapSnaplen      = 1 << 16
	pcapLinkEthernet = 1
)

// WritePcap writes what was captured as a pcap file (for a failing test's
// artifacts and for tshark -r checks).
func (c *Capture) WritePcap(path string) error { return WritePcap(path, c.Frames()) }

// WritePcap writes frames as a pcap file: a chosen part of a capture, as
// the recorded testdata keeps.
func WritePcap(path string, frames []Frame) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("netlab: write pcap: %w", err)
	}
	w := bufio.NewWriter(f)
	var hdr [24]byte
	le := binary.LittleEndian
	le.PutUint32(hdr[0:], pcapMagic)
	le.PutUint16(hdr[4:], 2) // version 2.4
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], pcapSnaplen)
	le.PutUint32(hdr[20:], pcapLinkEthernet)
	w.Write(hdr[:])
	for _, fr := range frames {
		var rec [16]byte
		le.PutUint32(rec[0:], uint32(fr.Time.Unix()))
		le.PutUint32(rec[4:], uint32(fr.Time.Nanosecond()/1000))
		le.PutUint32(rec[8:], uint32(len(fr.Data)))
		le.PutUint32(rec[12:], uint32(len(fr.Data)))
		w.Write(rec[:])
		w.Write(fr.Data)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("netlab: write pcap %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("netlab: write pcap %s: %w", path, err)
	}
	return nil
}
