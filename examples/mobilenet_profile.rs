//! Where a MobileNetV2 training step spends its time on burn's CPU backend.
//!
//! ```text
//! cargo run --release --example mobilenet_profile -- SPEC [--variant NAME] [--threads N] [--reps N] [--steps N]
//! ```
//!
//! Builds the network of SPEC's variant (the first by default) and prints one JSON line:
//! - `step_ms`: medians over `--steps` of a training-mode forward, forward + backward, and a
//!   whole step (forward, backward, the spec's optimizer update), at the spec's batch size,
//!   and `step_cpu`: the mean CPU time of a whole step (all threads; steadier than wall time
//!   on a loaded machine);
//! - `ms_per_step`: every conv, BatchNorm and ReLU6 of the network timed in isolation at its
//!   shapes (forward, and forward + backward from a gradient of ones; for convs also forward +
//!   the weight gradient alone, the input not requiring one), medians of `--reps`, summed by
//!   layer kind.
//!
//! `scripts/bench/mobilenetv2_torch.py --layers` does the same in PyTorch;
//! `scripts/bench/mobilenetv2_speed.sh` runs both and prints the comparison.

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Distribution;
use runner::kinds::mobilenet_v2::arch;
use runner::models::fast_conv::conv2d;
use runner::models::mobilenet_v2::{Arch, ConvBn, ConvPlan, MobileNetV2, relu6};
use runner::train::optimizer;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat (Linux; 10 ms
/// ticks). On a machine other jobs load, CPU time per step is steadier than wall time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Mean CPU milliseconds of `f` over `reps` runs after one warm-up run.
fn cpu_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = cpu_seconds();
    for _ in 0..reps.max(1) {
        f();
    }
    (cpu_seconds() - start) * 1e3 / reps.max(1) as f64
}

/// Median milliseconds of `f` over `reps` runs after one warm-up run.
fn time_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..reps.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

/// `(kind, plan)` of every conv of the network.
fn convs(arch: &Arch) -> Vec<(&'static str, &ConvPlan)> {
    let mut out = vec![("stem", &arch.stem)];
    for b in &arch.blocks {
        if let Some(e) = &b.expand {
            out.push(("expand 1x1", e));
        }
        out.push(("depthwise 3x3", &b.depthwise));
        out.push(("project 1x1", &b.project));
    }
    out.push(("head 1x1", &arch.head));
    out
}

fn main() -> anyhow::Result<()> {
    // Speed only: a platform without these settings runs the same, slower.
    let _ = runner::util::alloc::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let Some(path) = args.first().filter(|a| !a.starts_with("--")) else {
        anyhow::bail!(
            "usage: mobilenet_profile SPEC [--variant NAME] [--threads N] [--reps N] [--steps N]"
        );
    };
    let threads: usize = flag("--threads").map_or(Ok(2), |s| s.parse())?;
    let reps: usize = flag("--reps").map_or(Ok(5), |s| s.parse())?;
    let steps: usize = flag("--steps").map_or(Ok(10), |s| s.parse())?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;
    let loaded = runner::kinds::load_file(path.as_ref(), &[])?;
    let variant = match flag("--variant") {
        Some(name) => loaded
            .variants
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| anyhow::anyhow!("no variant {name}"))?,
        None => &loaded.variants[0],
    };
    let spec = &variant.spec;
    let arch = arch(spec)?;
    let b = spec.train.batch_size;
    let ad = Device::flex().autodiff();
    ad.seed(0);

    // Whole steps.
    let mut model = MobileNetV2::new(&arch, &ad);
    let mut optim = optimizer::build(&spec.train, &model);
    let r = arch.resolution;
    let x = Tensor::<4>::random([b, arch.in_channels, r, r], Distribution::Default, &ad);
    let y = Tensor::<1, Int>::from_data(
        TensorData::new(
            (0..b as i64).map(|i| i % arch.classes as i64).collect(),
            [b],
        ),
        &ad,
    );
    let loss_of = |m: &MobileNetV2| {
        runner::train::classify::cross_entropy(m.forward(x.clone()), y.clone()).mean()
    };
    let forward = time_ms(steps, || {
        let _ = loss_of(&model).into_scalar::<f32>();
    });
    let forward_backward = time_ms(steps, || {
        let _ = loss_of(&model).backward();
    });
    let mut train_step = || {
        let loss = loss_of(&model);
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(spec.train.lr, model.clone(), grads);
    };
    let whole = time_ms(steps, &mut train_step);
    let whole_cpu = cpu_ms(steps, &mut train_step);

    // Layers in isolation.
    let mut totals: Vec<(String, [f64; 3])> = Vec::new();
    let mut add =
        |kind: &str, part: usize, ms: f64| match totals.iter_mut().find(|(k, _)| k == kind) {
            Some((_, t)) => t[part] += ms,
            None => {
                let mut t = [0.0; 3];
                t[part] = ms;
                totals.push((kind.to_string(), t));
            }
        };
    for (kind, plan) in convs(&arch) {
        let layer = ConvBn::new(plan, &ad);
        let inner = layer.valid();
        let s = plan.in_size;
        let shape = [b, plan.in_channels, s, s];
        let x = Tensor::<4>::random(shape, Distribution::Default, &ad).require_grad();
        let x_inner = x.clone().inner();
        add(
            kind,
            0,
            time_ms(reps, || {
                let _ = conv2d(&inner.conv, x_inner.clone());
            }),
        );
        add(
            kind,
            1,
            time_ms(reps, || {
                let _ = conv2d(&layer.conv, x.clone()).backward();
            }),
        );
        // The weight gradient alone: the input does not require a gradient.
        let x_const = x.clone().detach();
        add(
            kind,
            2,
            time_ms(reps, || {
                let _ = conv2d(&layer.conv, x_const.clone()).backward();
            }),
        );
        let o = plan.out_size;
        let z = Tensor::<4>::random([b, plan.out_channels, o, o], Distribution::Default, &ad)
            .require_grad();
        // Training-mode BN (batch statistics) needs the autodiff device; its forward alone
        // records a graph that is dropped unused.
        add(
            "batchnorm",
            0,
            time_ms(reps, || {
                let _ = layer.norm.forward(z.clone().detach());
            }),
        );
        add(
            "batchnorm",
            1,
            time_ms(reps, || {
                let _ = layer.norm.forward(z.clone()).backward();
            }),
        );
        if plan.relu6 {
            let z_inner = z.clone().inner();
            add(
                "relu6",
                0,
                time_ms(reps, || {
                    let _ = relu6(z_inner.clone());
                }),
            );
            add(
                "relu6",
                1,
                time_ms(reps, || {
                    let _ = relu6(z.clone()).backward();
                }),
            );
        }
    }
    let layers: Vec<String> = totals
        .iter()
        .map(|(k, [f, fb, w])| {
            let w = if k.contains("1x1") || k.contains("3x3") || k == "stem" {
                format!(", \"fwd_wgrad\": {w:.3}")
            } else {
                String::new()
            };
            format!("\"{k}\": {{\"fwd\": {f:.3}, \"fwd_bwd\": {fb:.3}{w}}}")
        })
        .collect();
    println!(
        "{{\"impl\": \"burn\", \"variant\": \"{}\", \"threads\": {threads}, \"batch\": {b}, \
         \"step_ms\": {{\"fwd\": {forward:.3}, \"fwd_bwd\": {forward_backward:.3}, \"step\": {whole:.3}, \"step_cpu\": {whole_cpu:.1}}}, \
         \"ms_per_step\": {{{}}}}}",
        variant.name,
        layers.join(", ")
    );
    Ok(())
}
