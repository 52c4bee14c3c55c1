package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/rest"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

type apiServerConfig struct {
	dir        string
	etcdURL    string
	pki        *pki
	users      users
	controller string
}

type apiServer struct {
	url             string
	controllerToken string
	caPool          *x509.CertPool
	errs            chan error
	done            chan struct{}
}

// startAPIServer runs kube-apiserver in-process as its command would, but
// through options, config and the server chain: the cobra command installs
// a signal handler that can be set up only once per process.
func startAPIServer(ctx context.Context, c apiServerConfig) (*apiServer, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for kube-apiserver: %w", err)
	}
	port := listener.Addr().(*net.TCPAddr).Port

	controllerToken := randomToken()
	tokens := filepath.Join(c.dir, "tokens.csv")
	kcm := user{token: controllerToken, name: c.controller, uid: c.controller}
	if err := os.WriteFile(tokens, []byte(c.users.tokenFile(kcm)), 0o600); err != nil {
		listener.Close()
		return nil, err
	}

	s := options.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	// The flags a loopback-only, single-process cluster needs; everything
	// else, admission plugins included, keeps kube-apiserver's defaults.
	args := []string{
		"--etcd-servers=" + c.etcdURL,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + c.pki.servingCert,
		"--tls-private-key-file=" + c.pki.servingKey,
		"--cert-dir=" + c.dir,
		"--token-auth-file=" + tokens,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + c.pki.saSigningKey,
		"--service-account-signing-key-file=" + c.pki.saSigningKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--profiling=false",
	}
	if err := fs.Parse(args); err != nil {
		listener.Close()
		return nil, fmt.Errorf("kube-apiserver flags: %w", err)
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		listener.Close()
		return nil, err
	}
	// The listener is made here so that the port cannot be taken between
	// choosing it and serving on it.
	s.SecureServing.Listener = listener

	completed, err := s.Complete(ctx)
	if err != nil {
		listener.Close()
		return nil, fmt.Errorf("completing kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		listener.Close()
		return nil, fmt.Errorf("kube-apiserver options: %w", utilerrors.NewAggregate(errs))
	}
	config, err := app.NewConfig(completed)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver config: %w", err)
	}
	completedConfig, err := config.Complete()
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver config: %w", err)
	}
	server, err := app.CreateServerChain(completedConfig)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver server chain: %w", err)
	}
	prepared, err := server.PrepareRun()
	if err != nil {
		return nil, fmt.Errorf("preparing kube-apiserver: %w", err)
	}
	// The loopback client must not print the warnings the server gives itself.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.pki.caPEM)
	a := &apiServer{
		url:             "https://127.0.0.1:" + strconv.Itoa(port),
		controllerToken: controllerToken,
		caPool:          pool,
		errs:            make(chan error, 1),
		done:            make(chan struct{}),
	}
	go func() {
		defer close(a.done)
		if err := prepared.Run(ctx); err != nil {
			a.errs <- err
		} else if ctx.Err() == nil {
			a.errs <- fmt.Errorf("exited")
		}
	}()
	return a, nil
}

// wait blocks until the server has shut down (its storage included).
func (a *apiServer) wait() {
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
	}
}

func (a *apiServer) httpClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: a.caPool}},
	}
}

// get sends an authenticated GET and returns the status and body.
func (a *apiServer) get(ctx context.Context, as user, path, accept string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+as.token)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := a.httpClient().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// waitReady polls /readyz until every check passes.
func (a *apiServer) waitReady(ctx context.Context, admin user) error {
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-a.errs:
			return fmt.Errorf("kube-apiserver failed to start: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		status, body, err := a.get(ctx, admin, "/readyz", "")
		if err == nil && status == http.StatusOK {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d %s", status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after 90s: %s", last)
}

// checkOpenAPIV2 fails fast on a server that serves broken OpenAPI v2: a
// Go 1.27 build of v1.36 was seen answering {"Extensions":{},...}, which
// makes kubectl's client-side validation fail with "failed to download
// openapi".
func checkOpenAPIV2(ctx context.Context, a *apiServer, admin user) error {
	status, body, err := a.get(ctx, admin, "/openapi/v2", "application/json")
	if err != nil {
		return fmt.Errorf("reading /openapi/v2: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("/openapi/v2 answered %d", status)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("/openapi/v2 is not JSON: %w", err)
	}
	_, broken := doc["Extensions"]
	var swagger string
	_ = json.Unmarshal(doc["swagger"], &swagger)
	if broken || swagger != "2.0" || len(doc["definitions"]) < 1000 {
		return fmt.Errorf("/openapi/v2 is malformed (swagger=%q, top-level Extensions=%v): build kudo-testenv with Go 1.26 (see tests/testenv/build.sh)", swagger, broken)
	}
	return nil
}
