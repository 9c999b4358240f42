// Package pcapfile reads classic pcap capture files (the format tcpdump -w
// writes) with Ethernet frames, so that tests can check packets captured on
// the wire. It reads microsecond and nanosecond files in either byte order;
// pcapng is not supported (tcpdump writes classic pcap by default).
package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// LinkTypeEthernet is the only link type the reader accepts (LINKTYPE_ETHERNET).
const LinkTypeEthernet = 1

// Magic numbers of the global header, as read in little-endian order.
const (
	magicMicro        = 0xa1b2c3d4
	magicNano         = 0xa1b23c4d
	magicMicroSwapped = 0xd4c3b2a1
	magicNanoSwapped  = 0x4d3cb2a1
)

// maxFrame bounds a record's length so that a corrupt file cannot make the
// reader allocate gigabytes.
const maxFrame = 1 << 18

var (
	// ErrNotPcap means the file does not start with a classic pcap header.
	ErrNotPcap = errors.New("pcapfile: not a classic pcap file")
	// ErrLinkType means the capture is not of Ethernet frames (for example
	// tcpdump -i any, which writes Linux cooked headers).
	ErrLinkType = errors.New("pcapfile: link type is not Ethernet")
)

// Frame is one captured Ethernet frame.
type Frame struct {
	Time    time.Time // capture time stamp (UTC)
	Data    []byte    // the captured bytes, at most the snapshot length
	OrigLen int       // the frame's length on the wire
}

// Reader iterates over the frames of a capture.
type Reader struct {
	r     *bufio.Reader
	order binary.ByteOrder
	nano  bool
	hdr   [16]byte
	n     int // frames read, for error messages
}

// NewReader reads the global header from r.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReader(r)
	var h [24]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, fmt.Errorf("%w: global header: %w", ErrNotPcap, err)
	}
	rd := &Reader{r: br}
	switch binary.LittleEndian.Uint32(h[0:4]) {
	case magicMicro:
		rd.order = binary.LittleEndian
	case magicNano:
		rd.order, rd.nano = binary.LittleEndian, true
	case magicMicroSwapped:
		rd.order = binary.BigEndian
	case magicNanoSwapped:
		rd.order, rd.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("%w: magic %#08x", ErrNotPcap, binary.LittleEndian.Uint32(h[0:4]))
	}
	if major := rd.order.Uint16(h[4:6]); major != 2 {
		return nil, fmt.Errorf("%w: version %d.%d", ErrNotPcap, major, rd.order.Uint16(h[6:8]))
	}
	// The link type shares its 32-bit field with FCS flags in newer
	// libpcap; only the low 16 bits name the link type.
	if lt := rd.order.Uint32(h[20:24]) & 0xffff; lt != LinkTypeEthernet {
		return nil, fmt.Errorf("%w: link type %d", ErrLinkType, lt)
	}
	return rd, nil
}

// Next returns the next frame, or io.EOF after the last one. A file cut
// short inside a record gives io.ErrUnexpectedEOF.
func (r *Reader) Next() (Frame, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		if err == io.EOF {
			return Frame{}, io.EOF
		}
		return Frame{}, fmt.Errorf("pcapfile: frame %d header: %w", r.n+1, err)
	}
	sec := r.order.Uint32(r.hdr[0:4])
	frac := r.order.Uint32(r.hdr[4:8])
	incl := r.order.Uint32(r.hdr[8:12])
	orig := r.order.Uint32(r.hdr[12:16])
	if incl > maxFrame {
		return Frame{}, fmt.Errorf("pcapfile: frame %d: captured length %d exceeds %d", r.n+1, incl, maxFrame)
	}
	nsec := int64(frac) * 1000
	if r.nano {
		nsec = int64(frac)
	}
	f := Frame{
		Time:    time.Unix(int64(sec), nsec).UTC(),
		Data:    make([]byte, incl),
		OrigLen: int(orig),
	}
	if _, err := io.ReadFull(r.r, f.Data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("pcapfile: frame %d data: %w", r.n+1, err)
	}
	r.n++
	return f, nil
}

// ReadFile reads every frame of the capture file name.
func ReadFile(name string) ([]Frame, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var frames []Frame
	for {
		fr, err := r.Next()
		if err == io.EOF {
			return frames, nil
		}
		if err != nil {
			return frames, fmt.Errorf("%s: %w", name, err)
		}
		frames = append(frames, fr)
	}
}
