// Command gospiffe is the interop harness's go-spiffe v2 client: each subcommand drives one part
// of go-spiffe (workloadapi X509Source/JWTSource/Client, jwtsvid, spiffetls) against a Workload
// API socket and prints what it saw as KEY=value lines on stdout for the Java tests to check.
// Errors go to stderr with a non-zero exit. It is a test tool; nothing shipped needs it.
package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

const usage = `usage: gospiffe <command> [flags]

commands:
  x509      X509Source: the default X509-SVID and its trust domain's bundle; FetchX509Bundles
  jwt       JWTSource: a JWT-SVID for -audience, checked locally against the JWT bundles
  validate  workloadapi.ValidateJWTSVID(-token, -audience) on the agent
  watch     WatchX509Context: one line per update until -updates updates were seen
  dial      spiffetls mTLS client to -addr, server authorized by -serverID; one HTTP GET -path
  serve     spiffetls mTLS server on -listen, clients authorized by -clientID; answers HTTP
            (its SVID and bundles from the Workload API, or from files: -svid, -svidKey, -bundle)
  bench     FetchX509Context latency from one caller for -seconds: count, p50, p99 (ns)
  streams   open -streams WatchX509Context streams; report when all saw -svids SVIDs (repeatable via stdin)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	socket := fs.String("socket", "", "Workload API address, unix:///path/to/socket")
	id := fs.String("id", "", "pick the SVID with this SPIFFE ID (default: the first one)")
	audience := fs.String("audience", "", "JWT audience")
	token := fs.String("token", "", "JWT-SVID to validate")
	updates := fs.Int("updates", 2, "watch: stop after this many updates")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	addr := fs.String("addr", "", "dial: host:port")
	host := fs.String("host", "", "dial: Host header (default: -addr)")
	path := fs.String("path", "/", "dial: request path")
	serverID := fs.String("serverID", "", "dial: the server's SPIFFE ID to authorize")
	listen := fs.String("listen", "127.0.0.1:0", "serve: address to listen on")
	clientID := fs.String("clientID", "", "serve: comma-separated client SPIFFE IDs to authorize")
	svidFile := fs.String("svid", "", "serve: the SVID's certificate chain (PEM) instead of the Workload API")
	svidKey := fs.String("svidKey", "", "serve: the SVID's private key (PEM), with -svid")
	bundleFiles := fs.String("bundle", "", "serve: with -svid, comma-separated trustdomain=bundle.pem")
	seconds := fs.Duration("seconds", 5*time.Second, "bench: how long to measure")
	streams := fs.Int("streams", 1000, "streams: how many streams")
	perConn := fs.Int("perConn", 100, "streams: streams per gRPC connection")
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	if *socket == "" && !(cmd == "serve" && *svidFile != "") {
		fail("-socket is required (or, for serve, -svid)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	clientOpts := workloadapi.WithClientOptions(workloadapi.WithAddr(*socket))
	var err error
	switch cmd {
	case "x509":
		err = x509Cmd(ctx, *socket, clientOpts, *id)
	case "jwt":
		err = jwtCmd(ctx, clientOpts, *id, *audience)
	case "validate":
		err = validateCmd(ctx, *socket, *token, *audience)
	case "watch":
		err = watchCmd(ctx, *socket, *updates)
	case "dial":
		err = dialCmd(ctx, clientOpts, *id, *addr, *host, *path, *serverID)
	case "serve":
		mode, modeErr := serveMode(clientOpts, *id, *clientID, *svidFile, *svidKey, *bundleFiles)
		if modeErr != nil {
			fail(modeErr.Error())
		}
		err = serveCmd(mode, *id, *listen)
	case "bench":
		err = benchCmd(ctx, *socket, *seconds)
	case "streams":
		err = streamsCmd(*socket, *streams, *perConn, *timeout)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "gospiffe: "+msg)
	os.Exit(1)
}

func picker(id string) workloadapi.X509SourceOption {
	return workloadapi.WithDefaultX509SVIDPicker(func(svids []*x509svid.SVID) *x509svid.SVID {
		for _, s := range svids {
			if id == "" || s.ID.String() == id {
				return s
			}
		}
		return svids[0]
	})
}

func serial(c *x509.Certificate) string {
	return hex.EncodeToString(c.SerialNumber.Bytes())
}

func x509Cmd(ctx context.Context, socket string, clientOpts workloadapi.SourceOption, id string) error {
	source, err := workloadapi.NewX509Source(ctx, clientOpts, picker(id))
	if err != nil {
		return fmt.Errorf("NewX509Source: %w", err)
	}
	defer source.Close()
	svid, err := source.GetX509SVID()
	if err != nil {
		return err
	}
	if id != "" && svid.ID.String() != id {
		return fmt.Errorf("no X509-SVID %s (got %s)", id, svid.ID)
	}
	fmt.Printf("SVID=%s\n", svid.ID)
	fmt.Printf("CHAIN=%d\n", len(svid.Certificates))
	fmt.Printf("SERIAL=%s\n", serial(svid.Certificates[0]))
	fmt.Printf("HINT=%s\n", svid.Hint)
	bundle, err := source.GetX509BundleForTrustDomain(svid.ID.TrustDomain())
	if err != nil {
		return err
	}
	// The chain must verify against the bundle, exactly as go-spiffe's TLS peers will check it.
	if _, _, err := x509svid.Verify(svid.Certificates, bundle); err != nil {
		return fmt.Errorf("the X509-SVID does not verify against its bundle: %w", err)
	}
	fmt.Printf("VERIFIED=%s\n", svid.ID)
	for _, a := range bundle.X509Authorities() {
		fmt.Printf("AUTHORITY=%s\n", hex.EncodeToString(a.SubjectKeyId))
	}
	client, err := workloadapi.New(ctx, workloadapi.WithAddr(socket))
	if err != nil {
		return err
	}
	defer client.Close()
	set, err := client.FetchX509Bundles(ctx)
	if err != nil {
		return fmt.Errorf("FetchX509Bundles: %w", err)
	}
	for _, b := range set.Bundles() {
		fmt.Printf("X509BUNDLE=%s:%d\n", b.TrustDomain(), len(b.X509Authorities()))
	}
	svids, err := client.FetchX509SVIDs(ctx)
	if err != nil {
		return fmt.Errorf("FetchX509SVIDs: %w", err)
	}
	for _, s := range svids {
		fmt.Printf("ALL=%s\n", s.ID)
	}
	return nil
}

func jwtCmd(ctx context.Context, clientOpts workloadapi.SourceOption, id, audience string) error {
	source, err := workloadapi.NewJWTSource(ctx, clientOpts)
	if err != nil {
		return fmt.Errorf("NewJWTSource: %w", err)
	}
	defer source.Close()
	params := jwtsvid.Params{Audience: audience}
	if id != "" {
		sub, err := spiffeid.FromString(id)
		if err != nil {
			return err
		}
		params.Subject = sub
	}
	svid, err := source.FetchJWTSVID(ctx, params)
	if err != nil {
		return fmt.Errorf("FetchJWTSVID: %w", err)
	}
	fmt.Printf("TOKEN=%s\n", svid.Marshal())
	fmt.Printf("SUBJECT=%s\n", svid.ID)
	fmt.Printf("AUDIENCE=%s\n", strings.Join(svid.Audience, ","))
	bundle, err := source.GetJWTBundleForTrustDomain(svid.ID.TrustDomain())
	if err != nil {
		return err
	}
	keys := make([]string, 0)
	for k := range bundle.JWTAuthorities() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("JWTBUNDLE=%s:%s\n", bundle.TrustDomain(), strings.Join(keys, ","))
	// Parsed and its signature checked by go-spiffe alone, with the JWKS the agent served.
	parsed, err := jwtsvid.ParseAndValidate(svid.Marshal(), source, []string{audience})
	if err != nil {
		return fmt.Errorf("jwtsvid.ParseAndValidate: %w", err)
	}
	fmt.Printf("LOCALLY_VALID=%s\n", parsed.ID)
	return nil
}

func validateCmd(ctx context.Context, socket, token, audience string) error {
	svid, err := workloadapi.ValidateJWTSVID(ctx, token, audience, workloadapi.WithAddr(socket))
	if err != nil {
		return fmt.Errorf("ValidateJWTSVID: %w", err)
	}
	fmt.Printf("VALID=%s\n", svid.ID)
	return nil
}

type printWatcher struct {
	n, want int
	done    chan struct{}
}

func (w *printWatcher) OnX509ContextUpdate(c *workloadapi.X509Context) {
	w.n++
	parts := make([]string, 0, len(c.SVIDs))
	for _, s := range c.SVIDs {
		parts = append(parts, s.ID.String()+"@"+serial(s.Certificates[0]))
	}
	fmt.Printf("UPDATE=%d %s\n", w.n, strings.Join(parts, ","))
	if w.n == w.want {
		close(w.done)
	}
}

func (w *printWatcher) OnX509ContextWatchError(err error) {
	fmt.Fprintf(os.Stderr, "gospiffe: watch error: %v\n", err)
}

func watchCmd(ctx context.Context, socket string, updates int) error {
	client, err := workloadapi.New(ctx, workloadapi.WithAddr(socket))
	if err != nil {
		return err
	}
	defer client.Close()
	w := &printWatcher{want: updates, done: make(chan struct{})}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- client.WatchX509Context(wctx, w) }()
	select {
	case <-w.done:
		return nil
	case err := <-errc:
		return fmt.Errorf("WatchX509Context: %w", err)
	case <-ctx.Done():
		return fmt.Errorf("saw %d of %d updates before the timeout", w.n, updates)
	}
}

func dialCmd(ctx context.Context, clientOpts workloadapi.SourceOption, id, addr, host, path, serverID string) error {
	sid, err := spiffeid.FromString(serverID)
	if err != nil {
		return fmt.Errorf("-serverID: %w", err)
	}
	conn, err := spiffetls.DialWithMode(ctx, "tcp", addr,
		spiffetls.MTLSClientWithSourceOptions(tlsconfig.AuthorizeID(sid), clientOpts, picker(id)))
	if err != nil {
		return fmt.Errorf("spiffetls.DialWithMode: %w", err)
	}
	defer conn.Close()
	peer, err := spiffetls.PeerIDFromConn(conn)
	if err != nil {
		return err
	}
	fmt.Printf("PEER=%s\n", peer)
	if host == "" {
		host = addr
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return fmt.Errorf("reading the response: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fmt.Printf("STATUS=%d\n", resp.StatusCode)
	fmt.Printf("BODY=%s\n", strings.ReplaceAll(string(body), "\n", " "))
	return nil
}

type connKey struct{}

// serveMode is spiffetls's mTLS server mode authorizing -clientID: with the Workload API's SVID
// and bundles, or (-svid) with an SVID and bundles read from files, e.g. what
// `spire-server x509 mint -write` and `spire-server bundle show|list -format pem` wrote.
func serveMode(clientOpts workloadapi.SourceOption, id, clientIDs, svidFile, svidKey, bundleFiles string) (spiffetls.ListenMode, error) {
	var ids []spiffeid.ID
	for _, s := range strings.Split(clientIDs, ",") {
		cid, err := spiffeid.FromString(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("-clientID: %w", err)
		}
		ids = append(ids, cid)
	}
	authorizer := tlsconfig.AuthorizeOneOf(ids...)
	if svidFile == "" {
		return spiffetls.MTLSServerWithSourceOptions(authorizer, clientOpts, picker(id)), nil
	}
	svid, err := x509svid.Load(svidFile, svidKey)
	if err != nil {
		return nil, fmt.Errorf("-svid %s -svidKey %s: %w", svidFile, svidKey, err)
	}
	set := x509bundle.NewSet()
	for _, kv := range strings.Split(bundleFiles, ",") {
		td, path, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("-bundle %q: want trustdomain=path", kv)
		}
		trustDomain, err := spiffeid.TrustDomainFromString(td)
		if err != nil {
			return nil, fmt.Errorf("-bundle %q: %w", kv, err)
		}
		b, err := x509bundle.Load(trustDomain, path)
		if err != nil {
			return nil, fmt.Errorf("-bundle %q: %w", kv, err)
		}
		set.Add(b)
	}
	return spiffetls.MTLSServerWithRawConfig(authorizer, svid, set), nil
}

func serveCmd(mode spiffetls.ListenMode, id, listen string) error {
	ctx := context.Background()
	ln, err := spiffetls.ListenWithMode(ctx, "tcp", listen, mode)
	if err != nil {
		return fmt.Errorf("spiffetls.ListenWithMode: %w", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// spiffetls hands http.Server its own net.Conn (not a *tls.Conn, so r.TLS is nil):
			// the peer's SPIFFE ID comes from that connection, as spiffetls.PeerIDFromConn reads it.
			conn, _ := r.Context().Value(connKey{}).(net.Conn)
			peer, err := spiffetls.PeerIDFromConn(conn)
			if err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			fmt.Fprintf(w, "go-spiffe server %s: peer %s path %s\n", id, peer, r.URL.Path)
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
	}
	fmt.Printf("LISTENING=%s\n", ln.Addr())
	// Stop when stdin closes, so the server never outlives the test that started it.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = srv.Close()
	}()
	// spiffetls's listener hands out connections whose handshake runs lazily, on the first read,
	// and http.Server drops a failed one silently (it logs only for a bare *tls.Conn): say why.
	if err := srv.Serve(handshakeLogger{ln}); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// handshakeLogger hands out spiffetls's connections, each logging its failed handshake (for
// instance tlsconfig's "unexpected ID") on stderr.
type handshakeLogger struct{ net.Listener }

func (l handshakeLogger) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &loggedConn{spiffeConn: c.(spiffeConn)}, nil
}

// spiffeConn is what spiffetls's listener returns: a TLS connection that knows its peer's ID.
type spiffeConn interface {
	net.Conn
	spiffetls.PeerIDGetter
	Handshake() error
}

type loggedConn struct {
	spiffeConn
	once sync.Once
}

func (c *loggedConn) Read(b []byte) (int, error) {
	var err error
	c.once.Do(func() {
		if err = c.Handshake(); err != nil {
			fmt.Fprintf(os.Stderr, "TLS handshake error from %s: %v\n", c.RemoteAddr(), err)
		}
	})
	if err != nil {
		return 0, err
	}
	return c.spiffeConn.Read(b)
}

func benchCmd(ctx context.Context, socket string, seconds time.Duration) error {
	client, err := workloadapi.New(ctx, workloadapi.WithAddr(socket))
	if err != nil {
		return err
	}
	defer client.Close()
	samples := make([]time.Duration, 0, 1<<16)
	end := time.Now().Add(seconds)
	for time.Now().Before(end) {
		t0 := time.Now()
		if _, err := client.FetchX509Context(ctx); err != nil {
			return fmt.Errorf("FetchX509Context: %w", err)
		}
		samples = append(samples, time.Since(t0))
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	fmt.Printf("COUNT=%d\n", len(samples))
	fmt.Printf("P50_NS=%d\n", percentile(samples, 0.50).Nanoseconds())
	fmt.Printf("P99_NS=%d\n", percentile(samples, 0.99).Nanoseconds())
	return nil
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

type streamWatcher struct {
	idx int
	st  *streamState
}

type streamState struct {
	mu      sync.Mutex
	seen    []int
	arrival []time.Time
	want    int
	left    int
	done    chan struct{}
	errs    int
}

func (w *streamWatcher) OnX509ContextUpdate(c *workloadapi.X509Context) {
	now := time.Now()
	s := w.st
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(c.SVIDs) >= s.want && s.seen[w.idx] < s.want {
		s.arrival[w.idx] = now
		s.left--
		if s.left == 0 {
			close(s.done)
		}
	}
	s.seen[w.idx] = len(c.SVIDs)
}

func (w *streamWatcher) OnX509ContextWatchError(error) {
	w.st.mu.Lock()
	w.st.errs++
	w.st.mu.Unlock()
}

// streamsCmd opens n WatchX509Context streams, waits until each saw the workload's SVIDs, prints
// READY, then for every number N read from stdin waits until every stream has seen N SVIDs and
// prints when the first and the last stream got there (Unix ns), so the caller can time one
// rotation from its own clock.
func streamsCmd(socket string, n, perConn int, timeout time.Duration) error {
	st := &streamState{seen: make([]int, n), arrival: make([]time.Time, n), want: 1, left: n, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var client *workloadapi.Client
	for i := 0; i < n; i++ {
		if i%perConn == 0 {
			c, err := workloadapi.New(ctx, workloadapi.WithAddr(socket))
			if err != nil {
				return err
			}
			defer c.Close()
			client = c
		}
		c := client
		w := &streamWatcher{idx: i, st: st}
		go func() { _ = c.WatchX509Context(ctx, w) }()
	}
	select {
	case <-st.done:
	case <-time.After(timeout):
		return fmt.Errorf("only %d of %d streams got their first update", n-st.left, n)
	}
	fmt.Println("READY")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var want int
		if _, err := fmt.Sscanf(in.Text(), "%d", &want); err != nil {
			return fmt.Errorf("stdin: %q is not a number", in.Text())
		}
		st.mu.Lock()
		st.want = want
		st.left = 0
		st.done = make(chan struct{})
		for i := range st.seen {
			if st.seen[i] < want {
				st.left++
			} else {
				st.arrival[i] = time.Now()
			}
		}
		done := st.done
		if st.left == 0 {
			close(done)
		}
		st.mu.Unlock()
		select {
		case <-done:
		case <-time.After(timeout):
			return fmt.Errorf("only %d of %d streams saw %d SVIDs", n-st.left, n, want)
		}
		st.mu.Lock()
		times := append([]time.Time(nil), st.arrival...)
		st.mu.Unlock()
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
		fmt.Printf("REACHED first=%d median=%d last=%d\n", times[0].UnixNano(), times[(n-1)/2].UnixNano(), times[n-1].UnixNano())
	}
	return nil
}
