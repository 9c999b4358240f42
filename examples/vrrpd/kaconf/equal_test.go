package kaconf

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vrrpkit/vrrpkit/auth"
)

// mutate changes the value v holds, whatever its type.
func mutate(t *testing.T, v reflect.Value) {
	t.Helper()
	switch x := v.Addr().Interface().(type) {
	case *netip.Addr:
		*x = netip.MustParseAddr("192.0.2.99")
		return
	case *netip.Prefix:
		*x = netip.MustParsePrefix("192.0.2.0/24")
		return
	case *GARP:
		x.LowerPrioDelay++
		return
	case *Auth:
		x.Password = NewSecret(x.Password.Reveal() + "x")
		return
	case *Notify:
		x.Stop = &Command{Args: []string{"/bin/true"}}
		return
	case *Command:
		x.Group += "x"
		return
	case **HMAC:
		*x = &HMAC{ActiveKey: 1}
		return
	case **VMAC:
		*x = &VMAC{Name: "vrrp.9"}
		return
	case **FIFO:
		*x = &FIFO{Path: "/run/fifo"}
		return
	case *GARPExtraIf:
		x.Interval++
		return
	case **Command:
		*x = &Command{Args: []string{"/bin/other"}}
		return
	case *net.HardwareAddr:
		*x = net.HardwareAddr{2, 0, 0, 0, 0, 9}
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint8:
		v.SetUint(v.Uint() + 1)
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
	default:
		t.Fatalf("mutate: no rule for %s", v.Type())
	}
}

// checkEqualCoversFields mutates each exported field of *orig but Pos in
// turn and checks that equal then says the copies differ.
func checkEqualCoversFields[T any](t *testing.T, orig *T, equal func(a, b *T) bool) {
	t.Helper()
	if !equal(orig, orig) {
		t.Fatalf("%T is not equal to itself", orig)
	}
	typ := reflect.TypeOf(*orig)
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() || f.Name == "Pos" {
			continue
		}
		cp := new(T)
		*cp = *orig
		mutate(t, reflect.ValueOf(cp).Elem().Field(i))
		if equal(orig, cp) {
			t.Errorf("%s.Equal ignores %s", typ.Name(), f.Name)
		}
		moved := new(T)
		*moved = *orig
		if pos := reflect.ValueOf(moved).Elem().FieldByName("Pos"); pos.IsValid() {
			pos.Set(reflect.ValueOf(Pos{File: "elsewhere", Line: 99}))
			if !equal(orig, moved) {
				t.Errorf("%s.Equal looks at Pos", typ.Name())
			}
		}
	}
}

// A reload keeps an instance running only if nothing it runs with
// changed: Equal must look at every field.
func TestEqualCoversEveryField(t *testing.T) {
	cmd := &Command{Args: []string{"/bin/notify"}, User: "root"}
	checkEqualCoversFields(t, &Instance{
		Name: "VI", Interface: "eth0", VRID: 1, Priority: 100, AdvertInterval: time.Second, Version: 2,
		Preempt: true, Accept: true, SourceAddr: netip.MustParseAddr("10.0.0.1"),
		Peers: []Peer{{Addr: netip.MustParseAddr("10.0.0.2"), MaxTTL: 255}}, MulticastGroup: netip.MustParseAddr("224.0.0.18"),
		Auth: Auth{Type: AuthPass, Password: NewSecret("p")}, VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}},
		TrackInterfaces: []Track{{Name: "eth1"}}, TrackScripts: []Track{{Name: "s"}}, TrackProcesses: []Track{{Name: "p"}},
		TrackFiles: []Track{{Name: "f", Weight: 1}}, Notify: Notify{Any: cmd}, GARP: DefaultGARP(), SyncGroup: "G",
	}, (*Instance).Equal)
	checkEqualCoversFields(t, &Script{Name: "s", Command: *cmd, Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1}, (*Script).Equal)
	checkEqualCoversFields(t, &TrackProcess{Name: "p", Process: "sshd", Params: []string{"-D"}, Quorum: 1, QuorumMax: NoQuorumMax}, (*TrackProcess).Equal)
	checkEqualCoversFields(t, &TrackFile{Name: "f", Path: "/run/f", Weight: 1}, (*TrackFile).Equal)
	checkEqualCoversFields(t, &SyncGroup{Name: "G", Members: []string{"A", "B"}, Notify: Notify{Master: cmd}}, (*SyncGroup).Equal)
	checkEqualCoversFields(t, &Peer{}, func(a, b *Peer) bool { return *a == *b })
	checkEqualCoversFields(t, &VIP{}, func(a, b *VIP) bool { return *a == *b })
	checkEqualCoversFields(t, &Command{Args: []string{"/x"}}, (*Command).Equal)
	checkEqualCoversFields(t, &Notify{}, func(a, b *Notify) bool { return a.Equal(*b) })
	checkEqualCoversFields(t, &VMAC{}, (*VMAC).Equal)
	checkEqualCoversFields(t, &FIFO{Path: "/run/f"}, (*FIFO).Equal)
	checkEqualCoversFields(t, &Global{VMACPrefix: "vrrp", DefaultInterface: "eth0"}, func(a, b *Global) bool { return a.equal(*b) })
	k1, _ := auth.NewKey(1, []byte("0123456789abcdef0123456789abcdef"))
	checkEqualCoversFields(t, &HMAC{Keys: []HMACKey{{Key: k1}}, ActiveKey: 1, Window: 5 * time.Second}, (*HMAC).Equal)
	k1b, _ := auth.NewKey(1, []byte("0123456789abcdef0123456789abcdeF"))
	k2, _ := auth.NewKey(2, []byte("0123456789abcdef0123456789abcdef"))
	h := &HMAC{Keys: []HMACKey{{Key: k1}}, ActiveKey: 1}
	for _, other := range []HMACKey{{Key: k1b}, {Key: k2}, {Key: k1, File: "k1.key"}} {
		if h.Equal(&HMAC{Keys: []HMACKey{other}, ActiveKey: 1}) {
			t.Errorf("HMAC.Equal ignores a key's %v", other)
		}
	}
	same, _ := auth.NewKey(1, []byte("0123456789abcdef0123456789abcdef"))
	if !h.Equal(&HMAC{Keys: []HMACKey{{Key: same}}, ActiveKey: 1}) {
		t.Error("HMAC.Equal: the same key read twice differs")
	}
}

func TestDiff(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testdataDir, "mixed-10/node1.conf"))
	if err != nil {
		t.Fatal(err)
	}
	old := mustParse(t, string(src))
	all := []string{"VI_EXT", "VI_INT", "VI_LB", "VI_UNI", "VI_V3", "VI_FAST", "VI6", "VI6_UNI", "VI_DUAL", "VI_SLOW"}
	without := func(names ...string) []string {
		var out []string
		for _, n := range all {
			if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+n+" ") {
				out = append(out, n)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		old, new string // a replacement applied to the file
		want     Diff
	}{
		{"nothing", "", "", Diff{Unchanged: all}},
		{"comment and layout", "# 1. VRRPv2", "! reworded\n\n# 1. VRRPv2", Diff{Unchanged: all}},
		{"priority", "virtual_router_id 103\n    priority 150", "virtual_router_id 103\n    priority 140",
			Diff{Changed: []string{"VI_LB"}, Unchanged: without("VI_LB")}},
		{"tracked script", "interval 2", "interval 3",
			Diff{Changed: []string{"VI_LB"}, Unchanged: without("VI_LB")}},
		{"tracked file", "init_file 0", "init_file 1",
			Diff{Changed: []string{"VI_V3"}, Unchanged: without("VI_V3")}},
		{"sync group", "'VG_EDGE is master'", "'VG_EDGE now master'",
			Diff{Changed: []string{"VI_EXT", "VI_INT"}, Unchanged: without("VI_EXT", "VI_INT")}},
		{"rename", "vrrp_instance VI_SLOW", "vrrp_instance VI_LAZY",
			Diff{Added: []string{"VI_LAZY"}, Removed: []string{"VI_SLOW"}, Unchanged: without("VI_SLOW")}},
		{"global inherited by every instance", "vrrp_garp_master_refresh 60", "vrrp_garp_master_refresh 30",
			Diff{Changed: all}},
		{"global of the daemon", "router_id edge1", "router_id edge9", Diff{Unchanged: all, Global: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := mustParse(t, strings.Replace(string(src), tc.old, tc.new, 1))
			if got := old.Diff(next); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Diff = %+v\nwant   %+v", got, tc.want)
			}
		})
	}
}
