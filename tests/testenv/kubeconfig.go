package main

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes one context per user, each named after its user,
// the first in system:masters current.
func writeKubeconfig(path, server string, caPEM []byte, us users) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kudo-testenv"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	for _, u := range us {
		cfg.AuthInfos[u.name] = &clientcmdapi.AuthInfo{Token: u.token}
		cfg.Contexts[u.name] = &clientcmdapi.Context{Cluster: "kudo-testenv", AuthInfo: u.name}
	}
	cfg.CurrentContext = us.admin().name
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	// Write then rename, so that a reader never sees half a file.
	tmp := path + ".tmp"
	if err := clientcmd.WriteToFile(*cfg, tmp); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
