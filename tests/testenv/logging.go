package main

import (
	"flag"
	"strconv"

	"k8s.io/klog/v2"
)

// initLogging sends the components' klog output to stderr at verbosity v.
func initLogging(v int) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", strconv.Itoa(v))
	_ = fs.Set("logtostderr", "true")
}
