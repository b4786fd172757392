namespace RecurrentDepth.Modeling;

// The TorchScript text of the scripted blocks, compiled once per model (ScriptedBlocks.cs calls it).
public sealed partial class ScriptedBlocks
{
    // x: (B, S, h). q, k, v come out in attention's (B, H, S, D) layout, q and k biased and rotated (complex form).
    // Weights of a stage are one list, 9 per block: norm_1, Wqkv, qkv_bias, proj, norm_2, norm_3, fc, mlp.proj, norm_4.
    // qkv_bias is the checkpoint's qk_bias flattened, with zeros for v: the projection then adds it itself (the same
    // bits as adding it after, one op fewer per block).
    private const string Source = """
        # RMSNorm as the eager RmsNorm computes it: libtorch's CPU rms_norm is a composite of 8 kernels and 6 allocations
        # (two no-op casts, an out-of-place add and rsqrt), slower per norm at this size. The mean is written as the sum
        # and division that CPU mean runs (bitwise the same), and width and eps are 0-dim tensors: an op with a number
        # operand wraps it in a new tensor first, which costs about as much as the op itself here.
        def rms(x: Tensor, w: Tensor, width: Tensor, eps: Tensor) -> Tensor:
            return (x * (x * x).sum(-1, keepdim=True).div_(width).add_(eps).rsqrt_()).mul_(w)

        # lin(x, w, b): torch.linear, or in models with large weights its two-row tall-skinny form (TallSkinnyLinear).
        LINEAR_FUNCTION

        def pre_attention(x: Tensor, norm_1: Tensor, wqkv: Tensor, qkv_bias: Tensor, rotation: Tensor, heads: int, width: Tensor, eps: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
            b = x.size(0)
            s = x.size(1)
            qkv = lin(rms(x, norm_1, width, eps), wqkv, qkv_bias).view(b, s, 3, heads, -1).permute(2, 0, 3, 1, 4)
            qk = qkv[:2]
            d = qk.size(-1)
            qk = torch.view_as_real(torch.view_as_complex(qk.unflatten(-1, [d // 2, 2])) * rotation).flatten(-2)
            return qk[0], qk[1], qkv[2]

        def post_attention(x: Tensor, y: Tensor, proj: Tensor, norm_2: Tensor, norm_3: Tensor, fc: Tensor, mlp_proj: Tensor, norm_4: Tensor, width: Tensor, eps: Tensor) -> Tensor:
            b = x.size(0)
            s = x.size(1)
            x = rms(x + lin(y.transpose(1, 2).reshape(b, s, -1), proj), norm_2, width, eps)
            gate_up = lin(rms(x, norm_3, width, eps), fc).chunk(2, -1)
            return rms(x + lin(torch.silu(gate_up[0]) * gate_up[1], mlp_proj), norm_4, width, eps)

        # block_length > 0: reads are whole pool blocks and every row's keys are the first block_length positions of them.
        def pooled_attention(q: Tensor, k: Tensor, v: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, mask: Tensor, block_length: int) -> Tensor:
            b = q.size(0)
            h = q.size(1)
            d = q.size(3)
            storage.index_copy_(0, writes, torch.stack([k.transpose(1, 2), v.transpose(1, 2)], 2).view(-1, 2, h, d))
            if block_length > 0:
                kv = storage.view(-1, BLOCK_SIZE, 2, h, d).index_select(0, reads).view(b, -1, 2, h, d).narrow(1, 0, block_length)
            else:
                kv = storage.index_select(0, reads).view(b, reads.size(0) // b, 2, h, d)
            kv = kv.permute(2, 0, 3, 1, 4)
            if mask.numel() == 0:
                return torch.scaled_dot_product_attention(q, kv[0], kv[1], None, 0.0, q.size(2) > 1)
            return torch.scaled_dot_product_attention(q, kv[0], kv[1], mask, 0.0, False)

        # The blocks of weights (9 tensors each) over the pool, their metadata at layer first + i of writes/reads/masks.
        def layers(x: Tensor, weights: List[Tensor], first: int, rotation: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, masks: Tensor, block_length: int, heads: int, width: Tensor, eps: Tensor) -> Tensor:
            for i in range(len(weights) // 9):
                o = 9 * i
                l = first + i
                q, k, v = pre_attention(x, weights[o], weights[o + 1], weights[o + 2], rotation, heads, width, eps)
                mask = masks
                if masks.numel() > 0:
                    mask = masks[l]
                y = pooled_attention(q, k, v, storage, writes[l], reads[l], mask, block_length)
                x = post_attention(x, y, weights[o + 3], weights[o + 4], weights[o + 5], weights[o + 6], weights[o + 7], weights[o + 8], width, eps)
            return x

        def blocks(x: Tensor, weights: List[Tensor], rotation: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, masks: Tensor, block_length: int, heads: int, width: Tensor, eps: Tensor) -> Tensor:
            return layers(x, weights, 0, rotation, storage, writes, reads, masks, block_length, heads, width, eps)

        # A readout over the pool: ln_f, the coda, then ln_f and the tied head on each row's position last[r] only.
        def readout(state: Tensor, ln_f: Tensor, wte: Tensor, last: Tensor, weights: List[Tensor], rotation: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, masks: Tensor, block_length: int, heads: int, width: Tensor, eps: Tensor) -> Tensor:
            x = blocks(rms(state, ln_f, width, eps), weights, rotation, storage, writes, reads, masks, block_length, heads, width, eps)
            x = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.size(2))).squeeze(1)
            return lin(rms(x, ln_f, width, eps), wte)

        # `steps` core steps (adapter, then the core blocks, whose metadata step j reads at layers j·n .. j·n + n − 1):
        # the last state and the one before it.
        def core_steps(state: Tensor, embedded: Tensor, adapter: Tensor, steps: int, weights: List[Tensor], rotation: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, masks: Tensor, block_length: int, heads: int, width: Tensor, eps: Tensor) -> Tuple[Tensor, Tensor]:
            n = len(weights) // 9
            before = state
            for j in range(steps):
                before = state
                x = lin(torch.cat([state, embedded], -1), adapter)
                state = layers(x, weights, j * n, rotation, storage, writes, reads, masks, block_length, heads, width, eps)
            return state, before
        """;

    // `lin` is torch.linear, except in models with a weight of at least TallSkinnyElements (8 MB in fp32, past the
    // CPU caches): there two rows in all (a fixed-depth token's last and second-to-last states read out together, or
    // a batch of two) run as w @ xᵀ. On the CPU, MKL's two-row x @ wᵀ streams the weight once per row, the tall-skinny
    // form once: huginn-mid's 32768 × 1024 head takes 6.9 ms for two rows against 15.8 (one row: 6.8). Small models
    // get the plain form, without the per-call shape test.
    private const long TallSkinnyElements = 1L << 21;

    private const string PlainLinear = """
        def lin(x: Tensor, w: Tensor, b: Optional[Tensor] = None) -> Tensor:
            return torch.linear(x, w, b)
        """;

    private const string TallSkinnyLinear = """
        def lin(x: Tensor, w: Tensor, b: Optional[Tensor] = None) -> Tensor:
            if x.numel() == 2 * x.size(-1) and w.numel() >= TALL_SKINNY:
                y = torch.matmul(w, x.reshape(2, -1).t()).t()
                if b is not None:
                    y = y + b
                return y.contiguous().view(x.size()[:-1] + [w.size(0)])
            return torch.linear(x, w, b)
        """;
}
