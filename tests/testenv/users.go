package main

import (
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

type user struct {
	token  string
	name   string
	uid    string
	groups []string
}

type users []user

// controllerManagerUser is the identity kube-controller-manager authenticates
// as, as on a kubeadm cluster; bootstrap RBAC binds its role to this name.
const controllerManagerUser = "system:kube-controller-manager"

// defaultUsers are admin and the users kudo's end-to-end tests use.
func defaultUsers() users {
	list := []struct {
		name   string
		groups []string
	}{
		{"admin", []string{"system:masters"}},
		{"alice", []string{"squad-a"}},
		{"bob", []string{"admins"}},
		{"carol", []string{"admins"}},
		{"dave", nil},
		{"paula", nil},
	}
	out := make(users, 0, len(list))
	for _, u := range list {
		out = append(out, user{token: randomToken(), name: u.name, uid: u.name, groups: u.groups})
	}
	return out
}

func randomToken() string {
	b := make([]byte, 24)
	// crypto/rand.Read never returns an error on Linux (it panics instead
	// when the kernel's generator is unavailable).
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// loadUsers reads a --token-auth-file CSV, or gives the default users.
func loadUsers(path string) (users, error) {
	if path == "" {
		return defaultUsers(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading --users: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	records, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("--users %s is not token,user,uid,\"group1,group2\" CSV: %w", path, err)
	}
	var out users
	seen := map[string]bool{}
	for i, rec := range records {
		if len(rec) < 2 || rec[0] == "" || rec[1] == "" {
			return nil, fmt.Errorf("--users %s line %d: need at least token,user", path, i+1)
		}
		u := user{token: rec[0], name: rec[1]}
		if len(rec) > 2 {
			u.uid = rec[2]
		}
		if len(rec) > 3 && rec[3] != "" {
			u.groups = strings.Split(rec[3], ",")
		}
		if seen[u.name] {
			return nil, fmt.Errorf("--users %s line %d: user %q listed twice", path, i+1, u.name)
		}
		if u.name == controllerManagerUser {
			return nil, fmt.Errorf("--users %s line %d: %q is the controller manager's own identity", path, i+1, u.name)
		}
		seen[u.name] = true
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--users %s lists nobody", path)
	}
	return out, nil
}

// admin is the first user in system:masters: the one the harness itself
// uses to wait for readiness.
func (us users) admin() user {
	for _, u := range us {
		for _, g := range u.groups {
			if g == "system:masters" {
				return u
			}
		}
	}
	return us[0]
}

// tokenFile renders the users, plus the controller manager, as a
// --token-auth-file.
func (us users) tokenFile(extra ...user) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	for _, u := range append(append(users{}, us...), extra...) {
		record := []string{u.token, u.name, u.uid}
		// No groups column for no groups: kube-apiserver reads an empty one
		// as the group "". csv quotes a list with commas, as the format wants.
		if len(u.groups) > 0 {
			record = append(record, strings.Join(u.groups, ","))
		}
		_ = w.Write(record)
	}
	w.Flush()
	return b.String()
}
