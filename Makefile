# Two entry points (see README): `make quickstart` (install + main job) and `make test` (install + tests).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: install quickstart test test-quick lint-imports bench docs

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

RUN ?= runs/quickstart

# A finished run re-prints its front (--resume); an interrupted one continues.
quickstart: install
	$(VENV)/bin/hybridnas search configs/search/quickstart.yaml --out $(RUN) $$([ -f $(RUN)/config.yaml ] && echo --resume)
	$(VENV)/bin/hybridnas pareto $(RUN) --plot $(RUN)/front.png

# One torch thread per xdist worker: two workers with two threads each on two cores spend a third of the
# time in the kernel (measured: benchmarks/speed/test_tiers.sh).
test: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mkdocs build --strict --quiet --site-dir "$$(mktemp -d)"
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2

# The quick tier: no slow, Ray or subprocess tests (markers in tests/conftest.py).
test-quick: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 -m "not slow and not ray and not subprocess"

# The manual (docs/) as a site in build/site; strict: a broken link or a page missing from the nav fails.
docs: install
	$(VENV)/bin/hybridnas config-keys > docs/guide/config-reference.md
	$(VENV)/bin/mkdocs build --strict

bench: install
	taskset -c 0 $(PY) -m benchmarks.speed.cost_speed --space hybrid_cifar
	$(PY) -m benchmarks.search.unique_networks

# Studies (make bench-<study>): each target regenerates the raw inputs its study reads, then runs it.
DATA ?= /tmp/hybridnas_data
SHARED ?= ../shared

$(DATA)/imagenette_64.npz: | install
	mkdir -p $(DATA)
	$(VENV)/bin/hybridnas data pack imagefolder:$(SHARED)/data/imagenette_128 $@ --size 64

.PHONY: bench-imagenette-data bench-imagenette-baselines bench-imagenette-search bench-imagenette-50m \
	bench-imagenette-resnet bench-imagenette-bottleneck bench-imagenette-bottleneck-43m bench-multifidelity-nb201 bench-nb201-scores
bench-imagenette-data: $(DATA)/imagenette_64.npz

# timm baselines near 130M MACs at 64 px, 3 seeds (hours on 2 cores; resumable: run it again to continue)
bench-imagenette-baselines: bench-imagenette-data
	$(PY) -m benchmarks.search.imagenette_baselines --data npz:$(DATA)/imagenette_64.npz
	$(PY) -m benchmarks.search.imagenette_baselines --data npz:$(DATA)/imagenette_64.npz --report

# the training-aware search and its pick under the same recipe (resumable), reported beside the baselines; the
# 130M run screened by the default of its time
bench-imagenette-search: bench-imagenette-data
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz --max-macs 130M \
		--screen-objective ensemble:jacob_cov+meco+params
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz --max-macs 130M --report

# the second budget: 50M MACs, the space's widths halved, four timm baselines near it (resumable)
IMAGENETTE_50M_BASELINES = regnety_006,efficientnet_b0,convnext_atto,fastvit_t8
bench-imagenette-50m: bench-imagenette-data
	$(PY) -m benchmarks.search.imagenette_baselines --data npz:$(DATA)/imagenette_64.npz \
		--models $(IMAGENETTE_50M_BASELINES) --out results/search/imagenette_baselines_50M --threads 1
	$(PY) -m benchmarks.search.imagenette_baselines --data npz:$(DATA)/imagenette_64.npz \
		--models $(IMAGENETTE_50M_BASELINES) --out results/search/imagenette_baselines_50M --report
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz --max-macs 50M \
		--width-multiplier 0.5 --threads 1 --baselines results/search/imagenette_baselines_50M
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz --max-macs 50M \
		--width-multiplier 0.5 --baselines results/search/imagenette_baselines_50M --report

# 130M again, in the resnet variant (ResNet basic blocks in every stage, ResNet-18's widths), first rung at 2 epochs
IMAGENETTE_RESNET = --max-macs 130M --space-variant resnet --min-epochs 2 --reduction-factor 3 --epoch-budget 54
bench-imagenette-resnet: bench-imagenette-data
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz $(IMAGENETTE_RESNET) --threads 2
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz $(IMAGENETTE_RESNET) --report

# 130M in the bottleneck variant (ResNet-D's parts: bottleneck blocks to 2,048 channels, deep stem with a max pool,
# average-pool downsampling), a loose screen (half the candidates kept), as the resnet variant's screen-bias study advises
RESNET14T_LAYOUT = w32|w256:bottleneck-k3|w512:bottleneck-k3|w1024:bottleneck-k3|w2048:bottleneck-k3
IMAGENETTE_BOTTLENECK = --max-macs 130M --space-variant bottleneck --min-epochs 2 --reduction-factor 3 \
	--epoch-budget 54 --keep 0.5
bench-imagenette-bottleneck: bench-imagenette-data
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz $(IMAGENETTE_BOTTLENECK) --threads 2
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz $(IMAGENETTE_BOTTLENECK) \
		--stage train --threads 2 --hand '$(RESNET14T_LAYOUT)'
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz $(IMAGENETTE_BOTTLENECK) --report \
		--hand '$(RESNET14T_LAYOUT)'

# the second budget again in the bottleneck variant, widths halved, under fastvit_t8's 43.2M MACs (the best
# baseline near 50M), so that the pick may not spend more MACs than the baseline it is compared with; the hand
# design beside it is resnet14t's layout with every width halved, as the space's are
RESNET14T_LAYOUT_HALF = w16|w128:bottleneck-k3|w256:bottleneck-k3|w512:bottleneck-k3|w1024:bottleneck-k3
IMAGENETTE_BOTTLENECK_43M = --max-macs 43M --space-variant bottleneck --width-multiplier 0.5 --min-epochs 2 \
	--reduction-factor 3 --epoch-budget 180 --keep 0.5 --baselines results/search/imagenette_baselines_50M
bench-imagenette-bottleneck-43m: bench-imagenette-data
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz $(IMAGENETTE_BOTTLENECK_43M) --threads 2
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz $(IMAGENETTE_BOTTLENECK_43M) \
		--stage train --threads 2 --hand '$(RESNET14T_LAYOUT_HALF)'
	$(PY) -m benchmarks.search.imagenette_search --data npz:$(DATA)/imagenette_64.npz $(IMAGENETTE_BOTTLENECK_43M) --report \
		--hand '$(RESNET14T_LAYOUT_HALF)'

# Raw input of the NAS-Bench-201 search studies: all 4,930 distinct networks scored with the default objective's
# members (one CIFAR-10 batch, seed 0; about 3 CPU-hours); committed gzipped, rebuilt only when missing
results/benchmarks/nb201_scores_default.csv.gz: | install
	$(VENV)/bin/hybridnas space sample nasbench201 -n 4930 --unique > $(DATA)/nb201_all.txt
	$(VENV)/bin/hybridnas proxies score nasbench201 --archs $(DATA)/nb201_all.txt --proxies jacob_cov,meco,params,trainable_layers --data npz:$(SHARED)/data/cifar10_subset.npz --seed 0 --out $(DATA)/nb201_scores_default.csv --csv > /dev/null
	gzip -9 -c $(DATA)/nb201_scores_default.csv > $@
bench-nb201-scores: results/benchmarks/nb201_scores_default.csv.gz

# NAS-Bench-201 with the 12-epoch table as the fidelity: settings chosen on CIFAR-100, reported on CIFAR-10
bench-multifidelity-nb201: bench-nb201-scores
	$(PY) -m benchmarks.search.multifidelity_nb201 --dataset cifar100 --grid predictor --out results/search/multifidelity_nb201
	$(PY) -m benchmarks.search.multifidelity_nb201 --dataset cifar10 --out results/search/multifidelity_nb201
