"""char-rnn style LSTM / GRU language model with truncated BPTT."""
import tapegrad as torch
import tapegrad.nn as nn
import tapegrad.optim as optim
from tapegrad.optim import lr_scheduler

torch.manual_seed(0)

text = "to be or not to be that is the question " * 12
chars = sorted(set(text))
char_to_idx = {c: i for i, c in enumerate(chars)}
data = torch.tensor([char_to_idx[c] for c in text], dtype=torch.long)
n_chars = len(chars)


class CharRNN(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=2, dropout=0.2, cell="lstm"):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.encoder = nn.Embedding(vocab_size, embed_dim)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(embed_dim, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        self.init_weights()

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, x, hidden):
        emb = self.drop(self.encoder(x))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        return decoded.view(-1, decoded.size(-1)), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.cell == "lstm":
            return (
                weight.new_zeros(self.num_layers, bsz, self.hidden_size),
                weight.new_zeros(self.num_layers, bsz, self.hidden_size),
            )
        return weight.new_zeros(self.num_layers, bsz, self.hidden_size)


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(v) for v in h)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).contiguous()
    return data


def get_batch(source, i, seq_len):
    seq_len = min(seq_len, source.size(1) - 1 - i)
    x = source[:, i : i + seq_len]
    y = source[:, i + 1 : i + 1 + seq_len]
    return x, y.reshape(-1)


batch_size = 4
bptt = 16
train_data = batchify(data, batch_size)


def run(cell):
    torch.manual_seed(0)
    model = CharRNN(n_chars, 16, 32, num_layers=2, dropout=0.2, cell=cell)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    def evaluate():
        model.eval()
        total_loss = 0.0
        hidden = model.init_hidden(batch_size)
        n = 0
        with torch.no_grad():
            for i in range(0, train_data.size(1) - 1, bptt):
                x, y = get_batch(train_data, i, bptt)
                output, hidden = model(x, hidden)
                hidden = repackage_hidden(hidden)
                total_loss += len(x) * criterion(output, y).item()
                n += len(x)
        return total_loss / n

    first = evaluate()
    for epoch in range(1, 5):
        model.train()
        hidden = model.init_hidden(batch_size)
        if cell == "lstm":
            hidden = tuple(h.detach() for h in hidden)
        for batch, i in enumerate(range(0, train_data.size(1) - 1, bptt)):
            x, y = get_batch(train_data, i, bptt)
            hidden = repackage_hidden(hidden)
            optimizer.zero_grad()
            output, hidden = model(x, hidden)
            loss = criterion(output, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            optimizer.step()
        scheduler.step()
        print(f"{cell} epoch {epoch} lr {scheduler.get_last_lr()[0]:.5f} loss {loss.item():.3f}")
    last = evaluate()
    print(cell, first, "->", last)
    assert optimizer.param_groups[0]["lr"] == 0.01 * 0.5**2

    # sample a few characters
    model.eval()
    hidden = model.init_hidden(1)
    inp = torch.randint(n_chars, (1, 1), dtype=torch.long)
    out = []
    with torch.no_grad():
        for _ in range(20):
            output, hidden = model(inp, hidden)
            word_weights = output.squeeze().div(0.8).exp().cpu()
            word_idx = torch.multinomial(word_weights, 1)[0]
            inp.fill_(word_idx)
            out.append(chars[word_idx])
    print(repr("".join(out)))
    return first, last


for cell in ("lstm", "gru"):
    first, last = run(cell)
    assert last < first, (cell, first, last)

# the word_language_model example's loop: plain SGD written with p.data.add_(grad, alpha)
import math

torch.manual_seed(1)
model = CharRNN(n_chars, 16, 32, num_layers=2, dropout=0.2, cell="lstm")
criterion = nn.CrossEntropyLoss()
lr = 2.0
ppls = []
for epoch in range(3):
    model.train()
    total_loss = 0.0
    hidden = model.init_hidden(batch_size)
    nbatches = 0
    for i in range(0, train_data.size(1) - 1, bptt):
        data, targets = get_batch(train_data, i, bptt)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total_loss += loss.item()
        nbatches += 1
    cur_loss = total_loss / nbatches
    ppls.append(math.exp(cur_loss))
    print("| epoch {:3d} | lr {:02.2f} | loss {:5.2f} | ppl {:8.2f}".format(epoch, lr, cur_loss, math.exp(cur_loss)))
assert ppls[-1] < ppls[0], ppls

# an nn.LSTM with an explicit h0/c0 and a single step, as in the PyTorch docs
rnn = nn.LSTM(10, 20, 2)
input = torch.randn(5, 3, 10)
h0 = torch.randn(2, 3, 20)
c0 = torch.randn(2, 3, 20)
output, (hn, cn) = rnn(input, (h0, c0))
assert output.shape == (5, 3, 20) and hn.shape == (2, 3, 20) and cn.shape == (2, 3, 20)
cell = nn.LSTMCell(10, 20)
hx, cx = torch.randn(3, 20), torch.randn(3, 20)
outs = []
for i in range(input.size()[0]):
    hx, cx = cell(input[i], (hx, cx))
    outs.append(hx)
assert torch.stack(outs, dim=0).shape == (5, 3, 20)
