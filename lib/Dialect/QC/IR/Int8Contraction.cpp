//===- Int8Contraction.cpp - the marked int8 contraction ------------------===//

#include "qc/Dialect/QC/IR/Int8Contraction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

linalg::GenericOp qc::buildInt8Contraction(OpBuilder &b, Location loc,
                                           Value lhs, Value rhs,
                                           bool transposeRhs, Value init,
                                           bool lhsSigned, bool rhsSigned) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m = getAffineDimExpr(0, ctx), k = getAffineDimExpr(1, ctx),
             n = getAffineDimExpr(2, ctx);
  SmallVector<AffineMap> maps = {
      AffineMap::get(3, 0, {m, k}, ctx),
      AffineMap::get(3, 0,
                     transposeRhs ? ArrayRef<AffineExpr>{n, k}
                                  : ArrayRef<AffineExpr>{k, n},
                     ctx),
      AffineMap::get(3, 0, {m, n}, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{lhs, rhs},
      ValueRange{init}, maps,
      SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                       utils::IteratorType::reduction,
                                       utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Type i32 = nb.getI32Type();
        auto widen = [&](Value v, bool isSigned) -> Value {
          if (v.getType() == i32)
            return v;
          return isSigned ? arith::ExtSIOp::create(nb, l, i32, v).getResult()
                          : arith::ExtUIOp::create(nb, l, i32, v).getResult();
        };
        Value p = arith::MulIOp::create(nb, l, widen(args[0], lhsSigned),
                                        widen(args[1], rhsSigned));
        linalg::YieldOp::create(
            nb, l, arith::AddIOp::create(nb, l, args[2], p).getResult());
      });
  generic->setAttr("qc.contraction", b.getUnitAttr());
  generic->setAttr(
      kInt8ContractionAttr,
      b.getDictionaryAttr(
          {b.getNamedAttr("lhs_signed", b.getBoolAttr(lhsSigned)),
           b.getNamedAttr("rhs_signed", b.getBoolAttr(rhsSigned))}));
  return generic;
}
