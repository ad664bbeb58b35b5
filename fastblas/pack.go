package fastblas

import "unsafe"

// grow returns buf with length n, reallocating only when its capacity is
// too small, and then with room for full, the largest block its kernel
// ever packs. A workspace thus allocates once, on its first product,
// however large: which workspace meets which product depends on timing
// (the free list hands them to whichever goroutine asks first), so sizing
// them to the products they happened to meet would let a training step
// allocate long after the first ones.
func grow[T float](buf []T, n, full int) []T {
	if cap(buf) < n {
		return make([]T, n, max(n, full))
	}
	return buf[:n]
}

// packEdgeA copies rows [i, i+rows) (rows < mr) and columns [p0, p0+kcur)
// of op(A) into ws.packA as one mr×kcur panel stored k-major (the mr values
// the kernel broadcasts for one k are adjacent), padded with zero rows.
func (ws *workspace[T]) packEdgeA(sp *kernelSpec[T], g *gemmArgs[T], i, rows, p0, kcur int) {
	ws.packA = grow(ws.packA, mr*kcur, mr*sp.kc)
	panel, a, lda := ws.packA, g.a, g.lda
	clear(panel)
	if g.rows != nil {
		for r := 0; r < rows; r++ {
			base := int(g.rows[i+r])
			for p, off := range g.cols[p0 : p0+kcur] {
				panel[p*mr+r] = a[base+int(off)]
			}
		}
		return
	}
	if g.aTrans {
		// op(A)[i, p] = a[p*lda+i]: the values for one p are contiguous.
		for p := 0; p < kcur; p++ {
			o := (p0+p)*lda + i
			copy(panel[p*mr:p*mr+rows], a[o:o+rows])
		}
		return
	}
	for r := 0; r < rows; r++ {
		src := a[(i+r)*lda+p0 : (i+r)*lda+p0+kcur]
		for p, v := range src {
			panel[p*mr+r] = v
		}
	}
}

// packBlockB copies rows [p0, p0+kcur) and columns [j0, j0+ncur) of op(B)
// into ws.packB as consecutive kcur×nr panels, each stored row by row (the
// nr values the kernel loads for one k are adjacent). The last panel is
// padded with zero columns.
func (ws *workspace[T]) packBlockB(sp *kernelSpec[T], g *gemmArgs[T], p0, kcur, j0, ncur int) {
	nr := sp.nr
	panels := (ncur + nr - 1) / nr
	ws.packB = grow(ws.packB, panels*nr*kcur, sp.kc*sp.nc)
	b, ldb := g.b, g.ldb
	for jr := 0; jr < ncur; jr += nr {
		panel := ws.packB[jr*kcur : (jr+nr)*kcur]
		cols := min(nr, ncur-jr)
		j := j0 + jr
		switch {
		case !g.bTrans && cols == nr:
			// Bounds of the last row read; the rest is validated by Sgemm.
			last := (p0+kcur-1)*ldb + j + nr
			_ = b[last-1]
			_ = panel[kcur*nr-1]
			var z T
			sp.packRows(unsafe.Pointer(&panel[0]), unsafe.Pointer(&b[p0*ldb+j]), kcur, ldb*int(unsafe.Sizeof(z)))
		case !g.bTrans:
			for p := 0; p < kcur; p++ {
				o := (p0+p)*ldb + j
				d := panel[p*nr : p*nr+nr]
				copy(d, b[o:o+cols])
				clear(d[cols:])
			}
		default:
			// op(B)[p, j] = b[j*ldb+p]: each column of the panel is a
			// contiguous run of b.
			if cols < nr {
				clear(panel)
			}
			for c := 0; c < cols; c++ {
				src := b[(j+c)*ldb+p0 : (j+c)*ldb+p0+kcur]
				for p, v := range src {
					panel[p*nr+c] = v
				}
			}
		}
	}
}
