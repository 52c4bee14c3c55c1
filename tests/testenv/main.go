// kudo-testenv runs a real Kubernetes control plane on 127.0.0.1 for kudo's
// end-to-end tests: embedded etcd, kube-apiserver and the few
// kube-controller-manager controllers kudo relies on, all in this one
// process and all built from Kubernetes' own Go modules (v1.36.3), the way
// Kubernetes' integration tests start them.
//
//	kudo-testenv --kubeconfig PATH [--users FILE]
//
// FILE is kube-apiserver's --token-auth-file CSV (token,user,uid,"g1,g2").
// PATH gets one context per user, named after the user. "READY" is printed
// on stdout once /readyz answers and the controllers run. SIGTERM, SIGINT or
// the death of the parent process stops everything and removes the state.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "where to write the kubeconfig (one context per user); required")
	usersFile := flag.String("users", "", "users in kube-apiserver's --token-auth-file CSV format (token,user,uid,\"group1,group2\"); default: admin and the users kudo's tests need")
	verbosity := flag.Int("v", 0, "log verbosity of the Kubernetes components (klog -v)")
	flag.Parse()
	if *kubeconfig == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: kudo-testenv --kubeconfig PATH [--users FILE] [-v N]")
		os.Exit(2)
	}
	initLogging(*verbosity)
	if err := run(*kubeconfig, *usersFile); err != nil {
		fmt.Fprintf(os.Stderr, "kudo-testenv: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfigPath, usersFile string) error {
	ctx, stop := stopContext()
	defer stop()

	removeStaleStateDirs()
	dir, err := newStateDir()
	if err != nil {
		return err
	}
	// Everything this process wrote lives in dir: it goes on every way out
	// but SIGKILL, and a later start removes what a killed one left.
	defer os.RemoveAll(dir)

	users, err := loadUsers(usersFile)
	if err != nil {
		return err
	}
	pki, err := newPKI(dir)
	if err != nil {
		return err
	}

	etcd, err := startEtcd(ctx, filepath.Join(dir, "etcd"))
	if err != nil {
		return err
	}
	defer etcd.stop()

	apiserver, err := startAPIServer(ctx, apiServerConfig{
		dir:        dir,
		etcdURL:    etcd.clientURL,
		pki:        pki,
		users:      users,
		controller: controllerManagerUser,
	})
	if err != nil {
		return err
	}
	defer apiserver.wait()

	start := time.Now()
	if err := apiserver.waitReady(ctx, users.admin()); err != nil {
		return err
	}
	if err := checkOpenAPIV2(ctx, apiserver, users.admin()); err != nil {
		return err
	}

	controllers, err := startControllerManager(ctx, controllerManagerConfig{
		dir:       dir,
		server:    apiserver.url,
		pki:       pki,
		token:     apiserver.controllerToken,
		adminAuth: users.admin(),
	})
	if err != nil {
		return err
	}
	defer controllers.wait()
	if err := controllers.waitRunning(ctx, apiserver, users.admin()); err != nil {
		return err
	}

	if err := writeKubeconfig(kubeconfigPath, apiserver.url, pki.caPEM, users); err != nil {
		return err
	}
	klog.InfoS("control plane ready", "server", apiserver.url, "kubeconfig", kubeconfigPath, "took", time.Since(start))
	fmt.Println("READY")

	select {
	case <-ctx.Done():
	case err := <-apiserver.errs:
		stop()
		return fmt.Errorf("kube-apiserver stopped: %w", err)
	case err := <-controllers.errs:
		stop()
		return fmt.Errorf("kube-controller-manager stopped: %w", err)
	}
	// Only our own kubeconfig goes with us; the caller owns the path, and a
	// stale file pointing at a dead server would only mislead.
	os.Remove(kubeconfigPath)
	return nil
}

// stopContext is cancelled on SIGTERM or SIGINT, or when the parent process
// goes away (this process is then re-parented, so its parent pid changes).
func stopContext() (context.Context, context.CancelFunc) {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	parent := os.Getppid()
	go func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if os.Getppid() != parent {
					klog.InfoS("parent process gone, stopping")
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}
