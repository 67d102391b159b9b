package admin

import (
	"errors"
	"resiltop/internal/profile"
	"testing"
)

func TestResolverFor(t *testing.T) {
	const target = "http://orders:8080/metrics"
	tests := []struct {
		name     string
		r        Resolver
		target   string
		profiles []string
		want     string // "actuator <base>", "envoy <base>", "haproxy <network> <addr>"
		wantErr  error
		errText  bool
	}{
		{name: "actuator derived from the target", r: Resolver{Default: Settings{Token: "t"}}, target: target,
			profiles: []string{"resilience4j"}, want: "actuator http://orders:8080/actuator"},
		{name: "admin override", r: Resolver{Default: Settings{Token: "t", Admin: "https://orders:9090/manage/"}}, target: target,
			want: "actuator https://orders:9090/manage"},
		{name: "per-target settings win", r: Resolver{Default: Settings{ReadOnly: true}, Targets: map[string]Settings{target: {Token: "t"}}},
			target: target, want: "actuator http://orders:8080/actuator"},
		{name: "no token", r: Resolver{}, target: target, wantErr: ErrNoToken},
		{name: "read-only", r: Resolver{Default: Settings{Token: "t", ReadOnly: true}}, target: target, wantErr: ErrReadOnly},
		{name: "envoy on the target's admin listener", r: Resolver{}, target: "http://127.0.0.1:9901/stats/prometheus",
			profiles: []string{"envoy"}, want: "envoy http://127.0.0.1:9901"},
		{name: "envoy with override", r: Resolver{Default: Settings{Admin: "http://10.0.0.1:15000"}}, target: target,
			profiles: []string{"envoy"}, want: "envoy http://10.0.0.1:15000"},
		{name: "haproxy over tcp", r: Resolver{Default: Settings{HAProxyAdmin: "127.0.0.1:9999"}}, target: target,
			profiles: []string{"haproxy"}, want: "haproxy tcp 127.0.0.1:9999"},
		{name: "haproxy over a unix socket", r: Resolver{Default: Settings{HAProxyAdmin: "/run/haproxy/admin.sock"}}, target: target,
			profiles: []string{"haproxy"}, want: "haproxy unix /run/haproxy/admin.sock"},
		{name: "haproxy without an address", r: Resolver{Default: Settings{Token: "t"}}, target: target,
			profiles: []string{"haproxy"}, wantErr: ErrUnsupported},
		{name: "target without a host", r: Resolver{Default: Settings{Token: "t"}}, target: "orders:8080", errText: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw, err := tt.r.For(tt.target, tt.profiles)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case tt.errText:
				if err == nil {
					t.Fatal("want an error")
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			var got string
			switch s := sw.(type) {
			case *Actuator:
				got = "actuator " + s.base
			case *Envoy:
				got = "envoy " + s.actuator.base
			case *HAProxy:
				got = "haproxy " + s.network + " " + s.address
			}
			if got != tt.want {
				t.Errorf("switch = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestResolverProfileNames keeps the names For matches in step with the
// model's profiles, which the CLI passes in.
func TestResolverProfileNames(t *testing.T) {
	names := map[string]bool{}
	for _, p := range profile.Builtin() {
		names[p.Name()] = true
	}
	for _, n := range []string{ProfileEnvoy, ProfileHAProxy} {
		if !names[n] {
			t.Errorf("no model profile named %q", n)
		}
	}
}

// TestResolverAdminFor: in fleet mode a row's admin URL comes from
// AdminFor (the --admin-template), and its error is the user's help.
func TestResolverAdminFor(t *testing.T) {
	r := &Resolver{Default: Settings{Token: "t"}, AdminFor: func(target string) (string, error) {
		if target == "10.0.0.1:8080" {
			return "http://10.0.0.1:8080/manage", nil
		}
		return "", errors.New("pass --admin-template")
	}}
	sw, err := r.For("10.0.0.1:8080", []string{"resiltop"})
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := sw.(*Actuator); !ok || a.base != "http://10.0.0.1:8080/manage" {
		t.Errorf("switch %#v", sw)
	}
	if _, err := r.For("10.0.0.2:8080", nil); err == nil || err.Error() != "pass --admin-template" {
		t.Errorf("error %v", err)
	}
	r.Default.ReadOnly = true
	if _, err := r.For("10.0.0.1:8080", nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only first: %v", err)
	}
}
