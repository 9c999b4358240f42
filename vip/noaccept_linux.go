//go:build linux

package vip

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// noAccept enforces RFC 5798 Accept_Mode false (keepalived's no_accept):
// while a non-owner master holds its VIPs, the host drops packets
// addressed to them. keepalived does it with iptables or nftables rules;
// here it is one nftables table of the backend's own:
//
//	table inet vrrpkit-PID-N {
//		set vips4 { type ipv4_addr }
//		set vips6 { type ipv6_addr }
//		chain input {
//			type filter hook input priority filter
//			ip6 daddr @vips6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
//			ip daddr @vips4 drop
//			ip6 daddr @vips6 drop
//		}
//	}
//
// Neighbor discovery stays open so that the LAN can still resolve the
// VIPs (ARP is not IP and never reaches the hook). The table is created
// at the first held address and deleted with the backend.
//
// Each backend has a table of its own, so two daemons in one network
// namespace never share or delete each other's. A table in use is marked
// by an abstract unix socket named after it, which the backend holds: such
// sockets live in the network namespace, like the tables, and the kernel
// frees the name when the process dies however it dies. A backend that
// opens deletes every vrrpkit table whose mark nobody holds — what a
// crashed run left — and leaves the others alone.
//
// The backend watches nf_tables' notifications: when its table, a chain,
// a rule, a set or an element of it goes away while addresses are held (a
// firewall reload's `nft flush ruleset`), it is rebuilt at once with
// every held address.
type noAccept struct {
	nft  *nftables.Conn
	name string
	mark int // the abstract socket marking the table as in use

	table      *nftables.Table // nil until the first address is held
	set4, set6 *nftables.Set
	held       map[netip.Addr]int // holders of each address in the sets
}

// tablePrefix starts the name of every table a backend makes by default;
// "vrrpkit" alone was the name of older versions.
const tablePrefix = "vrrpkit-"

func isBackendTable(name string) bool {
	return name == "vrrpkit" || strings.HasPrefix(name, tablePrefix)
}

// errTableInUse: another live backend holds the table's mark.
var errTableInUse = errors.New("in use by another running backend")

// claimTable binds the abstract socket that marks table name as in use in
// the calling thread's network namespace.
func claimTable(name string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	mark := "vrrpkit/nft/inet/" + name
	if len(mark) > 100 { // sun_path holds 108 bytes
		sum := sha256.Sum256([]byte(name))
		mark = "vrrpkit/nft/inet/#" + hex.EncodeToString(sum[:16])
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "@" + mark}); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EADDRINUSE) {
			return -1, errTableInUse
		}
		return -1, err
	}
	return fd, nil
}

// newNoAccept claims table name, opens an nftables connection in the
// calling thread's network namespace, and deletes the tables crashed
// backends left. A kernel without nf_tables is not an error here: only
// holding an address needs it.
func newNoAccept(name string) (*noAccept, error) {
	mark, err := claimTable(name)
	if err != nil {
		return nil, fmt.Errorf("nftables table inet %s: %w", name, err)
	}
	nft, err := nftables.New(nftables.AsLasting())
	if err != nil {
		unix.Close(mark)
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	f := &noAccept{nft: nft, name: name, mark: mark, held: make(map[netip.Addr]int)}
	f.removeLeftovers()
	return f, nil
}

// removeLeftovers deletes our name's table (its mark is ours now, so
// whoever made it is gone) and every backend table whose mark is free.
func (f *noAccept) removeLeftovers() {
	tables, err := f.nft.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return
	}
	for _, t := range tables {
		if t.Name != f.name {
			if !isBackendTable(t.Name) {
				continue
			}
			probe, err := claimTable(t.Name)
			if err != nil {
				continue // a live backend's, or not ours to judge
			}
			defer unix.Close(probe)
		}
		f.nft.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: t.Name})
		_ = f.nft.Flush()
	}
}

// hold puts addrs in the drop sets (an address held twice is counted, not
// added twice).
func (f *noAccept) hold(addrs []netip.Addr) error {
	if len(addrs) == 0 {
		return nil
	}
	if f.table == nil {
		// First use, or the table went away while addresses were held.
		if err := f.rebuild(); err != nil {
			return err
		}
	}
	var added []netip.Addr
	for _, a := range addrs {
		if f.held[a]++; f.held[a] == 1 {
			added = append(added, a)
		}
	}
	err := f.apply(f.nft.SetAddElements, added, "add")
	if errors.Is(err, unix.ENOENT) {
		// The table went away under us (`nft flush ruleset`, a firewall
		// reload): build it again with every held address.
		f.table = nil
		err = f.rebuild()
	}
	if err != nil {
		for _, a := range addrs {
			if f.held[a]--; f.held[a] <= 0 {
				delete(f.held, a)
			}
		}
		return err
	}
	return nil
}

// rebuild creates the table and puts every held address in it.
func (f *noAccept) rebuild() error {
	if err := f.create(); err != nil {
		return err
	}
	return f.apply(f.nft.SetAddElements, slices.Collect(maps.Keys(f.held)), "add")
}

// unhold takes addrs out of the drop sets once no holder is left.
func (f *noAccept) unhold(addrs []netip.Addr) error {
	var removed []netip.Addr
	for _, a := range addrs {
		switch n := f.held[a]; {
		case n > 1:
			f.held[a] = n - 1
		case n == 1:
			delete(f.held, a)
			removed = append(removed, a)
		}
	}
	err := f.apply(f.nft.SetDeleteElements, removed, "remove")
	if errors.Is(err, unix.ENOENT) {
		f.table = nil // gone, and the rules with it; hold builds it again
		return nil
	}
	return err
}

// apply adds addrs to the drop sets or deletes them (op), in one
// transaction.
func (f *noAccept) apply(op func(*nftables.Set, []nftables.SetElement) error, addrs []netip.Addr, verb string) error {
	if len(addrs) == 0 {
		return nil
	}
	var v4, v6 []nftables.SetElement
	for _, a := range addrs {
		if a.Is4() {
			v4 = append(v4, nftables.SetElement{Key: a.AsSlice()})
		} else {
			v6 = append(v6, nftables.SetElement{Key: a.AsSlice()})
		}
	}
	wrap := func(err error) error {
		return fmt.Errorf("no_accept: %s drop rules in nftables table inet %s: %w", verb, f.name, err)
	}
	if len(v4) > 0 {
		if err := op(f.set4, v4); err != nil {
			return wrap(err)
		}
	}
	if len(v6) > 0 {
		if err := op(f.set6, v6); err != nil {
			return wrap(err)
		}
	}
	if err := f.nft.Flush(); err != nil {
		return wrap(explainNFT(err))
	}
	return nil
}

// create builds the table, its sets and its rules in one transaction.
func (f *noAccept) create() error {
	t := f.nft.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: f.name})
	s4 := &nftables.Set{Table: t, Name: "vips4", KeyType: nftables.TypeIPAddr}
	s6 := &nftables.Set{Table: t, Name: "vips6", KeyType: nftables.TypeIP6Addr}
	for _, s := range []*nftables.Set{s4, s6} {
		if err := f.nft.AddSet(s, nil); err != nil {
			return fmt.Errorf("no_accept: nftables set %s: %w", s.Name, err)
		}
	}
	c := f.nft.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter})
	for _, r := range [][]expr.Any{
		append(daddrIn(s6, unix.NFPROTO_IPV6),
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: []byte{135}, ToData: []byte{136}},
			&expr.Verdict{Kind: expr.VerdictAccept}),
		append(daddrIn(s4, unix.NFPROTO_IPV4), &expr.Verdict{Kind: expr.VerdictDrop}),
		append(daddrIn(s6, unix.NFPROTO_IPV6), &expr.Verdict{Kind: expr.VerdictDrop}),
	} {
		f.nft.AddRule(&nftables.Rule{Table: t, Chain: c, Exprs: r})
	}
	if err := f.nft.Flush(); err != nil {
		return fmt.Errorf("no_accept: create nftables table inet %s: %w", f.name, explainNFT(err))
	}
	f.table, f.set4, f.set6 = t, s4, s6
	return nil
}

// daddrIn matches packets of family proto whose destination is in s.
func daddrIn(s *nftables.Set, proto byte) []expr.Any {
	offset, size := uint32(16), uint32(4) // IPv4 destination
	if proto == unix.NFPROTO_IPV6 {
		offset, size = 24, 16
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size},
		&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
	}
}

// close deletes the table (and with it every rule) and closes the
// connection.
func (f *noAccept) close() error {
	var err error
	if f.table != nil {
		f.nft.DelTable(f.table)
		if e := f.nft.Flush(); e != nil && !errors.Is(e, unix.ENOENT) {
			err = fmt.Errorf("no_accept: delete nftables table inet %s: %w", f.name, e)
		}
		f.table = nil
	}
	clear(f.held)
	err = errors.Join(err, f.nft.CloseLasting())
	unix.Close(f.mark)
	return err
}

// repair puts back what someone else removed from the table while
// addresses are held: the whole table when it, its chain, a rule or a set
// is gone (in one transaction: delete what is left, build anew), and the
// held elements otherwise (adding one that is there is no error). With no
// address held it only notes a table that went away.
// rebuilt reports a table built anew.
func (f *noAccept) repair() (rebuilt bool, err error) {
	intact, err := f.intact()
	if err != nil {
		return false, err
	}
	if len(f.held) == 0 {
		if !intact {
			f.table = nil // the next hold builds it
		}
		return false, nil
	}
	if !intact {
		stale := &nftables.Table{Family: nftables.TableFamilyINet, Name: f.name}
		f.nft.AddTable(stale)
		f.nft.DelTable(stale)
		f.table = nil
		return true, f.rebuild()
	}
	return false, f.apply(f.nft.SetAddElements, slices.Collect(maps.Keys(f.held)), "add")
}

// intact reports whether the table is there with its three rules (which
// need both sets).
func (f *noAccept) intact() (bool, error) {
	if f.table == nil {
		return false, nil
	}
	tables, err := f.nft.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("no_accept: list nftables tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == f.name }) {
		return false, nil
	}
	rules, err := f.nft.GetRules(f.table, &nftables.Chain{Name: "input", Table: f.table})
	if err != nil {
		return false, nil // the chain is gone
	}
	return len(rules) == 3, nil
}

// nfnlgrpNFTables is NFNLGRP_NFTABLES, the multicast group of nf_tables'
// notifications (linux/netfilter/nfnetlink.h).
const nfnlgrpNFTables = 7

// nftWatch receives nf_tables' notifications of deletions in one table.
type nftWatch struct {
	c     *netlink.Conn
	table string
}

// watchTable subscribes, in the calling thread's network namespace, to
// the notifications about table name.
func watchTable(name string) (*nftWatch, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{Groups: 1 << (nfnlgrpNFTables - 1)})
	if err != nil {
		return nil, fmt.Errorf("no_accept: nf_tables notifications: %w", err)
	}
	return &nftWatch{c: c, table: name}, nil
}

// next blocks until something of the table was deleted by anyone (or
// notifications were lost, when nothing can be known), and reports
// false once the watch is closed.
func (w *nftWatch) next() bool {
	for {
		msgs, err := w.c.Receive()
		if err != nil {
			// Lost notifications: a check tells what they said.
			return errors.Is(err, unix.ENOBUFS)
		}
		for _, m := range msgs {
			if w.deletes(m) {
				return true
			}
		}
	}
}

// deletes reports whether m removes part of the table: a DELTABLE,
// DELCHAIN, DELRULE, DELSET or DELSETELEM whose table attribute
// (attribute 1 of each) names it, family inet.
func (w *nftWatch) deletes(m netlink.Message) bool {
	if m.Header.Type>>8 != unix.NFNL_SUBSYS_NFTABLES || len(m.Data) < 4 || m.Data[0] != unix.NFPROTO_INET {
		return false
	}
	switch m.Header.Type & 0xff {
	case unix.NFT_MSG_DELTABLE, unix.NFT_MSG_DELCHAIN, unix.NFT_MSG_DELRULE, unix.NFT_MSG_DELSET, unix.NFT_MSG_DELSETELEM:
	default:
		return false
	}
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		return false
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		if ad.Type() == 1 {
			return ad.String() == w.table
		}
	}
	return false
}

func (w *nftWatch) close() error { return w.c.Close() }

// explainNFT adds what a user can do about the usual failures.
func explainNFT(err error) error {
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EPROTONOSUPPORT):
		return fmt.Errorf("%w (is the kernel's nf_tables available?)", err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w (needs CAP_NET_ADMIN)", err)
	}
	return err
}
