// Command vcsim serves govmomi's vCenter simulator, extended for storage work,
// with an inventory built from a topology JSON file.
//
// It listens on a loopback port over HTTPS with a certificate of its own
// (written to -cert-out so clients can verify it), serves the vim25 WSDL at
// /sdk/vimService.wsdl, the SOAP endpoint at /sdk, the storage policy (PBM)
// endpoint at /pbm and a small admin API at /admin/ (fault injection,
// inventory changes). The first line on stdout is
// the SDK URL.
package main

import (
	"bufio"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	pbmsim "github.com/vmware/govmomi/pbm/simulator"
	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0 picks a free port)")
	topology := flag.String("topology", "", "topology JSON file (required)")
	datastoreRoot := flag.String("datastore-root", "", "directory holding the datastores' files (required)")
	certOut := flag.String("cert-out", "", "write the server's PEM certificate here")
	sdkDir := flag.String("sdk-dir", "", "directory with the generated vimService.wsdl (default: sdk/ beside the binary)")
	username := flag.String("username", "administrator@vsphere.local", "login user name")
	password := flag.String("password", "vcsim-pass", "login password")
	trace := flag.Bool("trace", false, "log SOAP requests and responses to stderr (passwords and session keys redacted)")
	adminToken := flag.String("admin-token", os.Getenv("VCSIM_ADMIN_TOKEN"), "require \"Authorization: Bearer TOKEN\" on /admin/ (default $VCSIM_ADMIN_TOKEN; empty: no token)")
	cleanupDir := flag.String("cleanup-dir", "", "remove this directory (datastores, certificate) when stopped")
	patternBytes := flag.Int64("pattern-bytes", simulator.TopologyPatternBytes, "bytes of test pattern written at the start of each topology disk (a multiple of 512; smaller for large estates)")
	flag.Parse()

	if *patternBytes < 512 || *patternBytes%512 != 0 {
		log.Fatalf("vcsim: -pattern-bytes must be a positive multiple of 512, not %d", *patternBytes)
	}
	simulator.TopologyPatternBytes = *patternBytes

	if *topology == "" || *datastoreRoot == "" {
		log.Fatal("vcsim: -topology and -datastore-root are required")
	}
	if *sdkDir == "" {
		exe, err := os.Executable()
		if err != nil {
			log.Fatalf("vcsim: %v", err)
		}
		*sdkDir = filepath.Join(filepath.Dir(exe), "sdk")
	}
	if _, err := os.Stat(filepath.Join(*sdkDir, "vimService.wsdl")); err != nil {
		log.Printf("vcsim: warning: no vimService.wsdl in %s: %v", *sdkDir, err)
	}

	model := simulator.VPX()
	model.Datacenter = 0
	model.Cluster = 0
	model.ClusterHost = 0
	model.Host = 0
	model.Machine = 0
	model.Datastore = 0
	model.Portgroup = 0
	model.Pool = 0
	model.App = 0
	model.Pod = 0
	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: creating the empty model: %v", err)
	}
	defer model.Remove()

	if err := simulator.LoadTopology(*topology, *datastoreRoot); err != nil {
		log.Fatalf("vcsim: topology %s: %v", *topology, err)
	}

	cert, pemBytes, err := selfSignedCertificate()
	if err != nil {
		log.Fatalf("vcsim: certificate: %v", err)
	}
	if *certOut != "" {
		if err := os.WriteFile(*certOut, pemBytes, 0o644); err != nil {
			log.Fatalf("vcsim: writing %s: %v", *certOut, err)
		}
	}

	simulator.Trace = *trace
	if *trace {
		simulator.TraceFile = redactedTrace(os.Stderr)
	}

	mux := http.NewServeMux()
	mux.Handle("/sdk/", http.StripPrefix("/sdk/", http.FileServer(http.Dir(*sdkDir))))
	mux.Handle("/admin/", requireToken(*adminToken, simulator.AdminHandler()))

	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, *password)}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.ServeMux = mux
	// The storage policy endpoint (/pbm), as vCenter serves it beside /sdk.
	if err := model.Service.MountPBM(pbmsim.New()); err != nil {
		log.Fatalf("vcsim: PBM endpoint: %v", err)
	}
	server := model.Service.NewServer()

	// The first line of stdout is the contract with vcsim-up and the tests.
	u := *server.URL
	u.User = nil
	fmt.Println(u.String())
	os.Stdout.Sync()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	server.Close()
	if *cleanupDir != "" {
		os.RemoveAll(*cleanupDir)
	}
}

// redactedTrace returns a pipe whose lines reach out with passwords and
// session keys removed (simulator.RedactTrace).
func redactedTrace(out io.Writer) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatalf("vcsim: trace pipe: %v", err)
	}
	go func() {
		br := bufio.NewReaderSize(r, 1<<20)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				_, _ = io.WriteString(out, simulator.RedactTrace(line))
			}
			if err != nil {
				return
			}
		}
	}()
	return w
}

// requireToken guards h with a bearer token when token is not empty.
func requireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer realm="vcsim admin"`)
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"error": "the admin API needs \"Authorization: Bearer <token>\" (the simulator was started with VCSIM_ADMIN_TOKEN)",
			})
			return
		}
		h.ServeHTTP(w, r)
	})
}
