package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

// The kube-controller-manager controllers kudo relies on: garbage
// collection of owned objects (reviews, bindings), namespace deletion,
// the default ServiceAccount and its tokens, and ClusterRole aggregation
// (kudo-user and kudo-reviewer aggregate into admin/edit/view).
var controllers = []string{
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"clusterrole-aggregation-controller",
}

type controllerManagerConfig struct {
	dir       string
	server    string
	pki       *pki
	token     string
	adminAuth user
}

type controllerManager struct {
	errs chan error
	done chan struct{}
}

func startControllerManager(ctx context.Context, c controllerManagerConfig) (*controllerManager, error) {
	kubeconfig := filepath.Join(c.dir, "controller-manager.kubeconfig")
	only := users{{token: c.token, name: controllerManagerUser}}
	if err := writeKubeconfig(kubeconfig, c.server, c.pki.caPEM, only); err != nil {
		return nil, err
	}

	s, err := options.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager options: %w", err)
	}
	all, disabled, aliases := app.KnownControllers(), app.ControllersDisabledByDefault(), app.ControllerAliases()
	named := s.Flags(all, disabled, aliases)
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--controllers=" + strings.Join(controllers, ","),
		// Each controller acts as its own ServiceAccount, as on a real
		// cluster, so the RBAC they run under is the bootstrap policy's.
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + c.pki.saSigningKey,
		"--root-ca-file=" + c.pki.caFile,
		// No serving port: readiness is judged by what the controllers do.
		"--secure-port=0",
		"--profiling=false",
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("kube-controller-manager flags: %w", err)
	}
	s.ParsedFlags = &named
	config, err := s.Config(ctx, all, disabled, aliases)
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager config: %w", err)
	}
	m := &controllerManager{errs: make(chan error, 1), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		if err := app.Run(ctx, config.Complete()); err != nil && ctx.Err() == nil {
			m.errs <- err
		}
	}()
	return m, nil
}

func (m *controllerManager) wait() {
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
	}
}

// waitRunning waits for the ServiceAccount controller to have made the
// default namespace's ServiceAccount: proof that the controllers run with
// working credentials.
func (m *controllerManager) waitRunning(ctx context.Context, a *apiServer, admin user) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-m.errs:
			return fmt.Errorf("kube-controller-manager failed: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		status, _, err := a.get(ctx, admin, "/api/v1/namespaces/default/serviceaccounts/default", "")
		if err == nil && status == http.StatusOK {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("kube-controller-manager made no default ServiceAccount within 60s")
}
