package graph

import (
	"reflect"
	"unsafe"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// directRun runs a tape machine's whole program on the calling goroutine,
// through the machine's Run method, instead of through RunAll.
//
// RunAll locks the OS thread, starts a goroutine and waits for it on two
// fresh channels on every call: two thread hand-offs that cost about
// 34 µs per run on our 2-core VMs, 5–7% of an MNIST step. And a panic in
// an op happens on that goroutine, where no caller can recover it, so it
// ends the process. Run executes a fragment of instructions on the caller's
// goroutine and binds the results to the nodes, as RunAll does at its end;
// the whole program is the fragment. Go does not let us name the program's
// instruction list (an unexported field of an unexported type), so it is
// found by reflection once, when the model is compiled.
//
// What RunAll does besides executing the instructions is not needed here:
// its NaN/Inf watches are options we do not set, its closure queue holds
// work only for dual values (BindDualValues, which we do not use), and its
// extern work queue serves CUDA. newDirectRun returns nil when the machine
// is not the tape machine of Gorgonia v0.9.18 as we know it, and the
// program then runs through RunAll.
type directRun struct {
	run  reflect.Value   // the machine's Run method
	args []reflect.Value // its one argument: the program's instructions
}

func newDirectRun(machine G.VM) (d *directRun) {
	defer func() {
		if recover() != nil { // a Gorgonia whose internals differ
			d = nil
		}
	}()
	v := reflect.ValueOf(machine)
	prog, run := v.MethodByName("Prog"), v.MethodByName("Run")
	if !prog.IsValid() || !run.IsValid() || prog.Type().NumIn() != 0 || prog.Type().NumOut() != 1 ||
		run.Type().NumIn() != 1 || run.Type().NumOut() != 1 {
		return nil
	}
	p := prog.Call(nil)[0]
	if p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Struct {
		return nil
	}
	field := p.Elem().FieldByName("instructions")
	if !field.IsValid() || field.Type() != run.Type().In(0) || !field.CanAddr() {
		return nil
	}
	instructions := reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem()
	return &directRun{run: run, args: []reflect.Value{instructions}}
}

// do runs the program once. A panic in an op, which RunAll could not have
// returned, is returned as an error.
func (d *directRun) do() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("an op panicked: %v", r)
		}
	}()
	if e, _ := d.run.Call(d.args)[0].Interface().(error); e != nil {
		return e
	}
	return nil
}
