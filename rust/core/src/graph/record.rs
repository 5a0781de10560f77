//! Recording: turning an op application into a node (reverse mode) and into its output's
//! tangent (forward mode), only when one of the two is needed.

use crate::array::Array;
use crate::error::{Error, Result};
use crate::graph::accounting::{self, current_label, take_node_seq};
use crate::graph::anomaly;
use crate::graph::forward_ad::{open_dual_levels, OuterLevelsOnly};
use crate::graph::grad_mode::is_grad_enabled;
use crate::graph::node::{Backward, InputMeta, Jvp, Node};
use crate::tensor::Tensor;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// Records `output` as the result of an op on `inputs`: a node when grad mode is on and any
/// input requires grad, and the output's tangent when in a dual level and any input carries
/// one. `rule` is only built when one of the two is needed (saving nothing otherwise).
pub fn record(
    inputs: &[&Tensor],
    output: Array,
    rule: impl FnOnce() -> Box<dyn Backward>,
) -> Result<Tensor> {
    single(record_multi(inputs, vec![output], rule)?)
}

/// [`record`] for ops with several outputs (custom functions).
pub fn record_multi(
    inputs: &[&Tensor],
    outputs: Vec<Array>,
    rule: impl FnOnce() -> Box<dyn Backward>,
) -> Result<Vec<Tensor>> {
    record_impl(inputs, outputs, rule, false)
}

/// [`record`] that makes a node even when no input requires grad or grad mode is off.
pub(crate) fn record_always(
    inputs: &[&Tensor],
    output: Array,
    rule: impl FnOnce() -> Box<dyn Backward>,
) -> Result<Tensor> {
    single(record_impl(inputs, vec![output], rule, true)?)
}

/// The one tensor recorded for a single-output op.
fn single(mut outputs: Vec<Tensor>) -> Result<Tensor> {
    outputs.pop().ok_or_else(|| Error::internal("record", "one output in, one tensor out"))
}

/// For each open dual level where an input carries a tangent: its position among the open
/// levels, its id, and the inputs' tangents at it.
type DualInputs = Vec<(usize, u64, Vec<Option<Tensor>>)>;

fn dual_inputs(inputs: &[&Tensor]) -> DualInputs {
    open_dual_levels()
        .into_iter()
        .enumerate()
        .filter_map(|(position, level)| {
            let tangents: Vec<Option<Tensor>> =
                inputs.iter().map(|t| t.tangent_at(level)).collect();
            tangents.iter().any(Option::is_some).then_some((position, level, tangents))
        })
        .collect()
}

fn record_impl(
    inputs: &[&Tensor],
    outputs: Vec<Array>,
    rule: impl FnOnce() -> Box<dyn Backward>,
    force_graph: bool,
) -> Result<Vec<Tensor>> {
    // Integer and bool results carry no gradient (comparisons, indices, casts to integers):
    // they record no node and no tangent, as in PyTorch.
    if !force_graph && outputs.iter().all(|o| !o.dtype().is_floating_point()) {
        return Ok(outputs.into_iter().map(Tensor::from_array).collect());
    }
    let dual = dual_inputs(inputs);
    let build_graph = force_graph || is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
    if !build_graph && dual.is_empty() {
        return Ok(outputs.into_iter().map(Tensor::from_array).collect());
    }
    let rule: Arc<dyn Backward> = Arc::from(rule());
    if dual.is_empty() {
        return Ok(attach(inputs, outputs, rule));
    }
    if outputs.len() != 1 {
        return Err(Error::Graph(format!(
            "{}: forward mode supports single-output functions only",
            rule.name()
        )));
    }
    // One output: checked just above.
    let result = if build_graph {
        single(attach(inputs, outputs, rule.clone()))?
    } else {
        let output = outputs.into_iter().next();
        Tensor::from_array(output.ok_or_else(|| Error::internal("record", "one output"))?)
    };
    propagate_tangents(inputs, &result, rule.as_ref(), dual)?;
    Ok(vec![result])
}

/// Computes `result`'s tangent at every level where an input carries one (forward mode).
fn propagate_tangents(
    inputs: &[&Tensor],
    result: &Tensor,
    rule: &dyn Backward,
    dual: DualInputs,
) -> Result<()> {
    for (position, level, tangents) in dual {
        let tangent = {
            let _outer = OuterLevelsOnly::new(position);
            rule.jvp(&Jvp { inputs, result, tangents: &tangents })?
        };
        let Some(tangent) = result.fit_tangent(tangent, rule.name())? else { continue };
        if let Some(node) = result.grad_fn() {
            // Kept as a value only: a tangent whose graph saved this node's output would
            // otherwise own the node that owns it.
            node.output_tangents[0]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((level, tangent.detach()));
        }
        result.set_tangent(level, tangent);
    }
    Ok(())
}

/// Makes the node for an op application and its output tensors.
fn attach(inputs: &[&Tensor], outputs: Vec<Array>, rule: Arc<dyn Backward>) -> Vec<Tensor> {
    let n = outputs.len();
    let bytes = rule.saved_bytes();
    debug_assert_eq!(bytes, rule.saved().iter().map(|s| s.bytes).sum::<usize>());
    accounting::account(bytes);
    let node = Arc::new(Node {
        name: rule.name().to_string(),
        seq: take_node_seq(),
        label: current_label(),
        context: anomaly::creation_context(),
        accounted: AtomicUsize::new(bytes),
        rule: Mutex::new(Some(rule)),
        edges: inputs.iter().map(|t| t.edge()).collect(),
        inputs: inputs.iter().map(|t| InputMeta { shape: t.shape(), dtype: t.dtype() }).collect(),
        outputs: outputs
            .iter()
            .map(|o| InputMeta { shape: o.shape().to_vec(), dtype: o.dtype() })
            .collect(),
        output_tangents: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
        retained: Mutex::new(vec![None; n]),
        hooks: Mutex::new(vec![Vec::new(); n]),
        output_versions: Mutex::new(vec![None; n]),
    });
    let tensors: Vec<Tensor> = outputs
        .into_iter()
        .enumerate()
        .map(|(i, data)| Tensor::rebuild(data, true, Some((node.clone(), i)), Vec::new()))
        .collect();
    for (i, t) in tensors.iter().enumerate() {
        node.set_output_version(i, &t.data().0);
    }
    tensors
}
