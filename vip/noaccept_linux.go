//go:build linux

package vip

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// noAccept enforces RFC 5798 Accept_Mode false (keepalived's no_accept):
// while a non-owner master holds its VIPs, the host drops packets
// addressed to them. keepalived does it with iptables or nftables rules;
// here it is one nftables table of the backend's own:
//
//	table inet vrrpkit {
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
// at the first held address and deleted with the backend; a table of
// the same name left by a crashed predecessor is deleted when the
// backend opens. A table deleted by someone else (`nft flush ruleset` in a
// firewall reload) is built again at the next hold; until then the held
// VIPs accept traffic, as keepalived's would (nothing watches the rules).
type noAccept struct {
	nft  *nftables.Conn
	name string

	table      *nftables.Table // nil until the first address is held
	set4, set6 *nftables.Set
	held       map[netip.Addr]int // holders of each address in the sets
}

// newNoAccept opens an nftables connection in the calling thread's network
// namespace and deletes a table named name left by an earlier run. A
// kernel without nf_tables is not an error here: only holding an address
// needs it.
func newNoAccept(name string) (*noAccept, error) {
	nft, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	f := &noAccept{nft: nft, name: name, held: make(map[netip.Addr]int)}
	stale := &nftables.Table{Family: nftables.TableFamilyINet, Name: name}
	// Adding an existing table is not an error: add then delete removes
	// it whether or not it was there, in one transaction.
	nft.AddTable(stale)
	nft.DelTable(stale)
	_ = nft.Flush()
	return f, nil
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
	return errors.Join(err, f.nft.CloseLasting())
}

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
