# Sourced by the tools/ pass benchmarks: `mnist_training_files SCRIPT_NAME FOLDER WORK`
# finds MNIST's gzipped training set (FOLDER if given, else data/mnist,
# ../shared/data/mnist or /work/shared/data/mnist) and writes WORK/images and
# WORK/labels, the raw IDX files tools/mnist-bytes.h reads; exits with one line
# naming what was looked for when there is none.
mnist_training_files() {
    local name=$1 mnist=${2:-} work=$3 d
    if [ -z "$mnist" ]; then
        for d in data/mnist ../shared/data/mnist /work/shared/data/mnist; do [ -f "$d/train-images-idx3-ubyte.gz" ] && mnist="$d" && break; done
    fi
    [ -n "$mnist" ] && [ -f "$mnist/train-images-idx3-ubyte.gz" ] || { echo "$name: no train-images-idx3-ubyte.gz in '${mnist:-data/mnist, ../shared/data/mnist}'" >&2; exit 1; }
    gunzip -c "$mnist/train-images-idx3-ubyte.gz" > "$work/images"
    gunzip -c "$mnist/train-labels-idx1-ubyte.gz" > "$work/labels"
}
